-- Every table of a catalog ($catalog) with its columns in declaration order: what the schema
-- upgrade compares with the schema files' declarations (schema.py). Internal tables are DuckDB's.
SELECT
    schema_name || '.' || table_name AS table_name,
    column_name,
    data_type,
    is_nullable,
    column_default
FROM duckdb_columns()
WHERE database_name = $catalog AND NOT internal
ORDER BY schema_name, table_name, column_index;
