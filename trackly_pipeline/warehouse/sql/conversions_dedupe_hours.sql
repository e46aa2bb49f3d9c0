-- The hours of the kept rows of every conversion dedupe touched: attributed again, since the
-- attribution left may have been built from a copy just removed.
SELECT DISTINCT time_bucket(INTERVAL 1 HOUR, converted_at) AS hour
FROM tune.conversions
WHERE network = $network
    AND conversion_id IN (
        SELECT conversion_id FROM removed_conversions
        UNION
        SELECT conversion_id FROM removed_attributions
    )
ORDER BY hour;
