-- A CSV log file's rows in file order, with `source_row` its 0-based data row (header aside): a
-- CSV scan keeps file order (DuckDB's preserve_insertion_order), so the rows of its temporary copy
-- (log_files_stage_csv.sql) are numbered by their rowid. A subquery (no semicolon):
-- trackly_logs_load_file.sql reads from it.
SELECT
    *,
    rowid AS source_row
FROM csv_rows
