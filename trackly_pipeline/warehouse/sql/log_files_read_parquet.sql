-- A Parquet log file's rows in file order, with `source_row` its 0-based position: attribution
-- breaks ties between log rows at the same time by (source_file, source_row), so the result never
-- depends on the order files were loaded in. A subquery (no semicolon): trackly_logs_load_file.sql
-- reads from it.
SELECT
    *,
    file_row_number AS source_row
FROM read_parquet($path, file_row_number = TRUE)
