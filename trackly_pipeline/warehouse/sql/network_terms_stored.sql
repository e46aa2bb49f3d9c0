-- The terms a network's stored rows were swept and attributed in (no row: none recorded yet, and
-- the current config is taken as its terms).
SELECT
    swept_timezone,
    swept_message_id_field,
    attributed_message_id_field,
    attributed_timezone
FROM ops.network_terms
WHERE network = $network;
