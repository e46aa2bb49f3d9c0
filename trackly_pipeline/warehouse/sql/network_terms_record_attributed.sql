-- In the attribution's transaction: its rows were resolved by this field, from conversions in the
-- zone they were last swept in (the row exists: network_terms_ensure_row.sql).
UPDATE ops.network_terms
SET attributed_message_id_field = $field,
    attributed_timezone = swept_timezone,
    attributed_at = $at
WHERE network = $network;
