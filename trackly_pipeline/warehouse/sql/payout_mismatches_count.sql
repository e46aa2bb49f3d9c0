-- How many rows (network, offer, conversion currency, likely cause) analytics.payout_mismatches
-- holds (its materialization's row count).
SELECT count(*) FROM analytics.payout_mismatches;
