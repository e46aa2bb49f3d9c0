-- One configured network: key, network_id, message_id_field, default_currency, affiliate_id (the
-- affiliate id tells apart keys that share a network_id, rollups.sql). Positional parameters ($1..):
-- run once per network (executemany).
INSERT INTO ops.networks
VALUES ($1, $2, $3, $4, $5);
