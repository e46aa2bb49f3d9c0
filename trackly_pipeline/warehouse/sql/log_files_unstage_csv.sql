-- The CSV file's temporary copy is loaded: drop it before the next file.
DROP TABLE csv_rows;
