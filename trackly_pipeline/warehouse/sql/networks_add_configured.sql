-- One configured network: key, network_id, message_id_field, default_currency, affiliate_id (the
-- affiliate id tells apart keys that share a network_id, rollups.sql). Positional parameters:
-- run once per network (executemany).
INSERT INTO ops.networks
VALUES (?, ?, ?, ?, ?);
