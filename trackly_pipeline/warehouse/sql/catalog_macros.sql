-- Every macro of a catalog ($catalog) as DuckDB stores it: what schema.schema_is_current compares
-- with the schema files' own, so that an unchanged schema is not written again.
SELECT
    schema_name,
    function_name,
    function_type,
    macro_definition,
    parameters
FROM duckdb_functions()
WHERE database_name = $catalog AND function_type IN ('macro', 'table_macro') AND NOT internal
ORDER BY schema_name, function_name;
