-- One month ($month) of a partitioned table, written as its month file: a range, so the scan skips
-- other months' row groups. Template: table and time_column (publish.PARTITIONED). The first and
-- last month are left open (publish_first_month_rows.sql, publish_last_month_rows.sql).
SELECT *
FROM {table}
WHERE {time_column} >= $month
    AND {time_column} < $month + INTERVAL 1 MONTH;
