-- What the lake's catalog holds, for the upkeep's before and after (lake_upkeep.py): snapshots, data
-- file rows (live ones are those no snapshot has ended), delete file rows, files awaiting deletion.
-- Runs on a connection with the lake attached as `warehouse` (its catalog is __ducklake_metadata_warehouse).
SELECT
    (SELECT count(*) FROM __ducklake_metadata_warehouse.ducklake_snapshot) AS snapshots,
    (SELECT count(*) FROM __ducklake_metadata_warehouse.ducklake_data_file) AS data_file_rows,
    (SELECT count(*) FROM __ducklake_metadata_warehouse.ducklake_data_file
     WHERE end_snapshot IS NULL) AS live_data_files,
    (SELECT count(*) FROM __ducklake_metadata_warehouse.ducklake_delete_file) AS delete_file_rows,
    (SELECT count(*) FROM __ducklake_metadata_warehouse.ducklake_files_scheduled_for_deletion)
        AS scheduled_for_deletion,
    (SELECT count(*) FROM __ducklake_metadata_warehouse.ducklake_inlined_data_tables) AS inlined_data_tables;
