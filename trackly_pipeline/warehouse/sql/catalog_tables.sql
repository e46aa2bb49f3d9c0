-- Every table of the warehouse ($catalog) as schema.table: what the analysts' copy holds (but
-- publish.UNPUBLISHED).
SELECT schema_name || '.' || table_name AS table_name
FROM duckdb_tables()
WHERE database_name = $catalog
ORDER BY 1;
