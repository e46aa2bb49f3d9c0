-- Check no_actionable_payout_mismatches: the offers whose likely cause needs action ($causes: re-sync
-- the offers, or fix the currency); the check warns when there is any.
SELECT count(*) FROM analytics.payout_mismatches WHERE list_contains($causes, likely_cause);
