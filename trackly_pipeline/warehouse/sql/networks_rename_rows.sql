-- `trackly network rename`: move a table's rows from key $old to $new (the integration log too).
-- Template: {table} is a table found by catalog_network_tables.sql, quoted.
UPDATE {table}
SET network = $new
WHERE network = $old;
