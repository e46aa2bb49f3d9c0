-- Files whose rows were loaded by a version before source_row (NULL there): loaded again, so that
-- every tie is broken by the file's own order. The null statistics of DuckDB's row groups make
-- this cheap. Template: table is trackly.clicks or trackly.messages.
SELECT DISTINCT source_file
FROM {table}
WHERE source_row IS NULL;
