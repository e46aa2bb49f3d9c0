-- Per hour of an attribution window (the figures of each hourly partition in the UI): conversions,
-- and how many each attribution method resolved. hour_us as in conversions_hourly_counts.sql.
SELECT epoch_us(converted_at) // 3600000000 AS hour_us, count(*) AS "dagster/row_count",
       count(*) FILTER (WHERE attribution_method = 'ad_id_click') AS ad_id_click,
       count(*) FILTER (WHERE attribution_method = 'sub_id_click') AS sub_id_click,
       count(*) FILTER (WHERE attribution_method = 'sub_id_message') AS sub_id_message,
       count(*) FILTER (WHERE attribution_method = 'unattributed') AS unattributed
FROM analytics.attributed_conversions
WHERE network = $network AND converted_at >= $start AND converted_at < $end
GROUP BY hour_us;
