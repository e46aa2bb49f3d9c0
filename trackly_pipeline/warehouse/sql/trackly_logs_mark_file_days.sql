-- The days of one log file's rows ($path) are rolled up again, and, when the log's table is
-- published by month ($published: trackly.messages), those months are published again. One scan;
-- the days stay in SQL: an infinite time's day, or one past year 9999, has no Python date.
-- Template: table (trackly.clicks or trackly.messages, also bound as $table) and time_column (the
-- time that places a row on a day).
CREATE OR REPLACE TEMP TABLE marked_days AS
SELECT DISTINCT utc_day({time_column}) AS day
FROM {table}
WHERE source_file = $path;

INSERT INTO ops.dirty_days
SELECT day, $table
FROM marked_days;

INSERT INTO ops.publish_pending
SELECT DISTINCT $table, date_trunc('month', day)::DATE
FROM marked_days
WHERE $published;

DROP TABLE marked_days;
