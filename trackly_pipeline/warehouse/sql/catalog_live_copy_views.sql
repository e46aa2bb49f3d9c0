-- The definitions of the views of the copy in place (attached as live_copy): the month files
-- sessions of it may still read.
SELECT sql
FROM duckdb_views()
WHERE database_name = 'live_copy';
