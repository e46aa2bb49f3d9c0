-- The months writers marked to publish again, as publish_table_months.sql names them: a writer in
-- SQL marks an infinite time's month as an infinite date, which Python cannot hold, so it is read
-- as the first or last month Python can name ($first_month, $last_month).
SELECT DISTINCT
    table_name,
    greatest(least(date_trunc('month', month)::DATE, $last_month), $first_month) AS month
FROM ops.publish_pending;
