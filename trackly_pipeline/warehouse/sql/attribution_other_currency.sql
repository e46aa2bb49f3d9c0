-- The reporting currency most attributed conversions are in, other than the configured one
-- ($currency), with their count: attribution rewrites only its window, so the days outside it
-- would keep the old currency and the rollups (no currency column) would add the two.
SELECT reporting_currency, count(*)
FROM analytics.attributed_conversions
WHERE reporting_currency <> $currency
GROUP BY 1
ORDER BY 2 DESC
LIMIT 1;
