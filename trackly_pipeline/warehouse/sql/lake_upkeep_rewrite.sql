-- One table's data files whose rows are mostly deleted (DuckLake's default threshold) rewritten
-- without them, their delete files with them.
SELECT
    coalesce(sum(files_processed), 0) AS files_rewritten,
    coalesce(sum(files_created), 0) AS files_created
FROM ducklake_rewrite_data_files('warehouse', $table_name, schema => $schema_name);
