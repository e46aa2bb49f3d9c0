-- Whether the loaded DuckLake extension has a function (older releases lack some upkeep calls).
SELECT count(*) > 0 AS present
FROM duckdb_functions()
WHERE function_name = $function_name;
