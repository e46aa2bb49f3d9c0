-- A CSV's column names as read_csv finds them (no rows are read).
SELECT *
FROM read_csv($path, header = TRUE, auto_detect = TRUE)
LIMIT 0;
