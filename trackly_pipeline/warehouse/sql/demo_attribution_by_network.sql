-- The demo's report: attributed conversions and their payout (reporting currency) per network and
-- attribution method.
SELECT network, attribution_method, count(*) AS conversions, round(sum(payout_reporting), 2) AS payout
FROM analytics.attributed_conversions GROUP BY ALL ORDER BY network, attribution_method;
