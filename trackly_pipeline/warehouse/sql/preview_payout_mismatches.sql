-- Preview in analytics.payout_mismatches' materialization: the 10 offers with the most conversions
-- paid differently from the offer's default payout.
SELECT network, offer_id, offer_name, offer_payout, payout_type, offer_currency, conversion_currency,
       likely_cause, conversions, min_paid, max_paid, typical_paid
FROM analytics.payout_mismatches
ORDER BY conversions DESC, network, offer_id LIMIT 10;
