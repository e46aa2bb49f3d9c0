-- The days rollups.sql rebuilt (temp table rollup_days).
SELECT day
FROM rollup_days
ORDER BY day;
