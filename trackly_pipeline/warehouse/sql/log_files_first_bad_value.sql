-- A log file that failed to load: the first row (in file order) whose value of one column the
-- table cannot store, that value cut to 100 characters (DuckDB's conversion error names neither
-- the column nor the row). Empty counts as bad where the column is NOT NULL ($required).
-- Template: reader (log_files_read_*.sql), log_column (a fixed log column) and column_type (the
-- table's own type of that column).
SELECT
    source_row,
    left(CAST({log_column} AS VARCHAR), 100)
FROM ({reader})
WHERE ({log_column} IS NULL AND $required)
    OR ({log_column} IS NOT NULL AND TRY_CAST({log_column} AS {column_type}) IS NULL)
ORDER BY source_row
LIMIT 1;
