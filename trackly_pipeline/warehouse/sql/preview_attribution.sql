-- Preview in an attribution's materialization: the network's 10 latest attributed conversions of the
-- run's hours [$start, $end), with how each was attributed.
SELECT conversion_id, converted_at, status, payout, currency, offer_id, message_id,
       attribution_method, unattributed_reason
FROM analytics.attributed_conversions
WHERE network = $network AND converted_at >= $start AND converted_at < $end
ORDER BY converted_at DESC LIMIT 10;
