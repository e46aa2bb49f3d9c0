-- In the sweep's transaction: the network's stored rows were read in this zone, with these sub id
-- fields (the row exists: network_terms_ensure_row.sql).
UPDATE ops.network_terms
SET swept_timezone = $timezone,
    swept_message_id_field = $field,
    swept_at = $at
WHERE network = $network;
