-- Every month a partitioned table has rows in: its rows' (UTC) month, or the first or last month
-- Python can name ($first_month, $last_month) for an infinite time or one beyond them, so every row
-- is in exactly one month file. Template: table and time_column (publish.PARTITIONED).
SELECT DISTINCT greatest(least(date_trunc('month', {time_column})::DATE, $last_month), $first_month)
FROM {table};
