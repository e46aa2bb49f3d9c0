-- A CSV's header as written: its first row as text. read_csv renames a repeated name (`x`, then
-- `x_1`), so its own column names (log_files_csv_names.sql) cannot show the repeat.
SELECT *
FROM read_csv($path, header = FALSE, all_varchar = TRUE, auto_detect = TRUE)
LIMIT 1;
