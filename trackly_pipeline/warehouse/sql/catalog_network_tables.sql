-- Every table of the current warehouse with a `network` column (schema.table): the tables a
-- network's rows are renamed and forgotten in, so a table added later is covered too. Temporary
-- tables are the connection's own work, not stored rows.
SELECT c.schema_name || '.' || c.table_name AS network_table
FROM duckdb_columns() AS c
JOIN duckdb_tables() AS t USING (database_name, schema_name, table_name)
WHERE c.database_name = current_database()
    AND c.column_name = 'network'
    AND NOT t.temporary
ORDER BY 1;
