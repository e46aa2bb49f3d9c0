-- Per hour of a sweep's window (the figures of each hourly partition in the UI): conversions stored,
-- and those this sweep saw first or changed (the ledger). hour_us: the UTC hour as microseconds since
-- 1970 divided by 3,600,000,000, the same in any session time zone.
SELECT hour_us, count(*) AS "dagster/row_count",
       coalesce(sum(c.new), 0)::BIGINT AS new, coalesce(sum(c.changed), 0)::BIGINT AS changed
FROM (SELECT conversion_id, epoch_us(converted_at) // 3600000000 AS hour_us FROM tune.conversions
      WHERE network = $network AND converted_at >= $start AND converted_at < $end)
LEFT JOIN (SELECT conversion_id, (change = 'new')::INT AS new, (change = 'changed')::INT AS changed
           FROM tune.conversion_changes WHERE network = $network AND sync_id = $sync_id
             AND change IN ('new', 'changed')) AS c USING (conversion_id)
GROUP BY hour_us;
