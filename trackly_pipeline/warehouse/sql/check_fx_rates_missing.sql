-- Check fx_rates_complete: attributed conversions with no exchange rate to the reporting currency
-- for their day (a rate is never guessed), per network, currency and day; the first 50 days.
SELECT network, currency, converted_at::DATE AS day, count(*) AS conversions
FROM analytics.attributed_conversions WHERE fx_rate IS NULL GROUP BY ALL ORDER BY day LIMIT 50;
