-- The last month Python can name ($month, publish.LAST_MONTH) of a partitioned table: it holds
-- every later time too (infinity), as publish_table_months.sql places them. Template: table and
-- time_column (publish.PARTITIONED).
SELECT *
FROM {table}
WHERE {time_column} >= $month;
