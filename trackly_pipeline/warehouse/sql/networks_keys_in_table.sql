-- The keys a network-keyed table holds rows under; one per table, joined with UNION into one query
-- over every such table (so no semicolon). Template: table is a table found by
-- catalog_network_tables.sql, quoted.
SELECT DISTINCT network
FROM {table}
