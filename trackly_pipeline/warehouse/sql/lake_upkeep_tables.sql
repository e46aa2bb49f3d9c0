-- The lake's tables, each merged in its own transaction (a conflict then reruns one table's merge).
SELECT
    schema_name,
    table_name
FROM duckdb_tables()
WHERE database_name = 'warehouse'
ORDER BY schema_name, table_name;
