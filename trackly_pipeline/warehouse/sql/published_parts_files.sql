-- The month files the analysts' copy in place reads, by table and month.
SELECT table_name, month, file
FROM ops.published_parts;
