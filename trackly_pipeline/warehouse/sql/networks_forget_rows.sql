-- `trackly network forget`: delete a table's rows stored under $network (not the integration
-- log's). Template: {table} is a table found by catalog_network_tables.sql, quoted.
DELETE FROM {table}
WHERE network = $network;
