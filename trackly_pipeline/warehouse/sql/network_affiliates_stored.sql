-- The affiliate account a network's stored conversions were last cleared for: a sweep for another
-- one is a change of terms (its older conversions were never swept).
SELECT affiliate_id
FROM ops.network_affiliates
WHERE network = $network;
