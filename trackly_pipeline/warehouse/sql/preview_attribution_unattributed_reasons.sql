-- Preview in an attribution's materialization: why the network's conversions of the run's hours
-- [$start, $end) resolved to no click or message, most frequent reason first.
SELECT unattributed_reason AS reason, count(*) AS conversions FROM analytics.attributed_conversions
WHERE network = $network AND converted_at >= $start AND converted_at < $end
AND attribution_method = 'unattributed' GROUP BY 1 ORDER BY 2 DESC;
