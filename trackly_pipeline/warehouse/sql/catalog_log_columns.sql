-- trackly.<$kind>'s columns, their SQL type and whether NULL is allowed: what a log file's values
-- must be stored as (asked before the load: a failed statement ends the transaction).
SELECT column_name, data_type, is_nullable
FROM duckdb_columns()
WHERE database_name = current_database()
    AND schema_name = 'trackly'
    AND table_name = $kind;
