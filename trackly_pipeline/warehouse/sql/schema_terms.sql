-- The terms each network's stored history was read in (warehouse/network_terms.py): a change in
-- trackly.yaml is detected against them before a sweep or attribution writes anything. One row per
-- network; its affiliate id is ops.network_affiliates'.
CREATE TABLE IF NOT EXISTS ops.network_terms (
    network                     VARCHAR NOT NULL,
    swept_timezone              VARCHAR,        -- the zone the last sweep read TUNE's times in (configured, or TUNE's)
    swept_message_id_field      VARCHAR,        -- the message_id_field configured then (the optional fields asked for)
    swept_at                    TIMESTAMPTZ,
    attributed_message_id_field VARCHAR,        -- the field the network's attributed rows were resolved by
    attributed_timezone         VARCHAR,        -- the swept zone of the conversions they were attributed from
    attributed_at               TIMESTAMPTZ
);
