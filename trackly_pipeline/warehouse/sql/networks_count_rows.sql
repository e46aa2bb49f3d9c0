-- How many rows a network-keyed table holds under one key ($network). Template: {table} is a
-- table found by catalog_network_tables.sql, quoted.
SELECT count(*)
FROM {table}
WHERE network = $network;
