-- The groups where our conversions or payout differ from TUNE's beyond the tolerance, in the
-- order of reconciliation.DIFFERENCE_COLUMNS.
SELECT
    day,
    offer_id,
    currency,
    tune_conversions,
    our_conversions,
    tune_payout,
    our_payout,
    payout_difference
FROM ops.reconciliation
WHERE network = $network AND NOT matches
ORDER BY day, offer_id, currency;
