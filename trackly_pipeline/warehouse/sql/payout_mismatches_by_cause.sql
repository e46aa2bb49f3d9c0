-- Conversions paid differently from their offer's payout, per likely cause
-- (payout_mismatches.sql).
SELECT likely_cause, sum(conversions)
FROM analytics.payout_mismatches
GROUP BY ALL;
