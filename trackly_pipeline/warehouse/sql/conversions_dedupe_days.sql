-- The UTC days conversions_dedupe.sql marked for the rollups.
SELECT day
FROM deduped_days
ORDER BY day;
