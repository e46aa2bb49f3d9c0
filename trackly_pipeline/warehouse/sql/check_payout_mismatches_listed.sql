-- Check no_actionable_payout_mismatches: the offers in analytics.payout_mismatches, those whose cause
-- needs action ($causes) first, then by conversions; the first 50.
SELECT network, offer_id, offer_name, offer_payout, payout_type, offer_currency, conversion_currency,
       likely_cause, conversions, min_paid, max_paid, typical_paid
FROM analytics.payout_mismatches
ORDER BY list_contains($causes, likely_cause) DESC, conversions DESC, network, offer_id LIMIT 50;
