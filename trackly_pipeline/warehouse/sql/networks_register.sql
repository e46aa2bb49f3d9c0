-- Before a configured key ($network) stores rows: remember the account it stands for, once (an
-- identity is never rewritten from the config: a key moved to another account is refused).
INSERT INTO ops.stored_networks
SELECT $network, $network_id, $affiliate_id, $at
WHERE $network NOT IN (SELECT network FROM ops.stored_networks);
