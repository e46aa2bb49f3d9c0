-- The file of the connection's current database (empty in memory): the warehouse whose own files a
-- log glob must not load.
SELECT path
FROM duckdb_databases()
WHERE database_name = current_database();
