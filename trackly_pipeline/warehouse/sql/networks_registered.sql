-- The registry of stored keys with the TUNE account each one's rows came from (no table read).
SELECT network, network_id, affiliate_id
FROM ops.stored_networks;
