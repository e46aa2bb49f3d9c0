-- A CSV log file's rows copied into a temporary table, numbered in file order by their rowid
-- (log_files_read_csv.sql).
CREATE OR REPLACE TEMP TABLE csv_rows AS
SELECT *
FROM read_csv($path, header = TRUE, auto_detect = TRUE);
