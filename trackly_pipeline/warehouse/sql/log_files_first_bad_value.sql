-- A log file that failed to load: the first row (in file order) whose value of one column the
-- table cannot store, that value cut to 100 characters (DuckDB's conversion error names neither
-- the column nor the row). Empty counts as bad where the column is NOT NULL ($required).
-- Template: reader (log_files_read_*.sql), column (a fixed log column) and type (the table's own
-- type of that column).
SELECT
    source_row,
    left(CAST({column} AS VARCHAR), 100)
FROM ({reader})
WHERE ({column} IS NULL AND $required)
    OR ({column} IS NOT NULL AND TRY_CAST({column} AS {type}) IS NULL)
ORDER BY source_row
LIMIT 1;
