-- Preview in an offer sync's materialization: the network's first 10 offers by id, with whether
-- Trackly imports them.
SELECT offer_id, name, status, payout, payout_type, currency, imported FROM tune.offers
WHERE network = $network ORDER BY offer_id LIMIT 10;
