-- The duplicates duplicate_conversions.sql found, ordered by table (tune.conversions first),
-- network and conversion id.
SELECT table_name, network, conversion_id, copies
FROM duplicate_conversions
ORDER BY table_name DESC, network, conversion_id;
