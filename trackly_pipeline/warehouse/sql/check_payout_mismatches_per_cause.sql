-- Check no_actionable_payout_mismatches: the number of offers listed per likely cause.
SELECT likely_cause, count(*) FROM analytics.payout_mismatches GROUP BY ALL;
