-- Before a key's rows are renamed or forgotten: the rollup days they count in are rebuilt by the
-- next rollups step (which publishes those days again).
INSERT INTO ops.dirty_days
SELECT DISTINCT utc_day(converted_at), $reason FROM analytics.attributed_conversions WHERE network = $network
UNION
SELECT DISTINCT utc_day(converted_at), $reason FROM tune.conversions WHERE network = $network
UNION
SELECT DISTINCT day, $reason FROM analytics.revenue_by_offer WHERE network = $network;
