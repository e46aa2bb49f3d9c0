-- A log file removed or changed since it was loaded: its rows go (a changed file is loaded again).
-- Template: table is trackly.clicks or trackly.messages.
DELETE FROM {table}
WHERE source_file = $path;
