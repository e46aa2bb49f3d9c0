-- The first month Python can name ($month, publish.FIRST_MONTH) of a partitioned table: it holds
-- every earlier time too (-infinity), as publish_table_months.sql places them. Template: table
-- and time_column (publish.PARTITIONED).
SELECT *
FROM {table}
WHERE {time_column} < $month + INTERVAL 1 MONTH;
