-- Preview in a conversion sweep's materialization: the network's conversions of the swept hours
-- [$start, $end) per status, with their payout.
SELECT status, count(*) AS conversions, sum(payout) AS payout FROM tune.conversions
WHERE network = $network AND converted_at >= $start AND converted_at < $end
GROUP BY status ORDER BY status;
