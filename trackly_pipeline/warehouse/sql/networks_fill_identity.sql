-- A key seeded without an identity (rows found, no account recorded) takes the account of the
-- configured key now storing under it; a known part is never overwritten.
UPDATE ops.stored_networks
SET network_id = coalesce(network_id, $network_id),
    affiliate_id = coalesce(affiliate_id, $affiliate_id)
WHERE network = $network
    AND (network_id IS NULL OR affiliate_id IS NULL);
