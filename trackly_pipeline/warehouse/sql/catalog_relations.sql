-- Every table and view of a database (not DuckDB's own): each one is bound once to check that the
-- analysts' copy opens read-only (a view finds its month files and reads the first one's schema).
SELECT schema_name, table_name
FROM duckdb_tables()
UNION ALL
SELECT schema_name, view_name
FROM duckdb_views()
WHERE NOT internal;
