-- Before a key's rows are renamed or forgotten: the months of the analysts' copy they are in are
-- published again. Template: table (a partitioned table with a network column, quoted) and
-- time_column (its month column, publish.PARTITIONED); $table names it as ops.publish_pending does.
INSERT INTO ops.publish_pending
SELECT DISTINCT $table, date_trunc('month', {time_column})::DATE
FROM {table}
WHERE network = $network;
