-- One table's adjacent small data files merged into larger ones (files with deletions are left to
-- lake_upkeep_rewrite.sql). The files they replace are scheduled for deletion, not deleted.
SELECT
    coalesce(sum(files_processed), 0) AS files_merged,
    coalesce(sum(files_created), 0) AS files_created
FROM ducklake_merge_adjacent_files('warehouse', $table_name, schema => $schema_name);
