-- How many rows a log's table holds after the load. Template: table is trackly.clicks or
-- trackly.messages.
SELECT count(*)
FROM {table};
