-- A partitioned table in the analysts' copy: a view over its current month files. A view cannot
-- take bound parameters. Template: relation (a quoted schema.table of the warehouse) and files
-- (the month files' paths as SQL string literals, refused when they hold a quote:
-- publish._sql_path).
CREATE VIEW published.{relation} AS
SELECT *
FROM read_parquet([{files}]);
