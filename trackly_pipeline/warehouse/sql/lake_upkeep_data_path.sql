-- The folder (or s3:// URL) of the lake's data files, as its catalog records it.
SELECT data_path FROM ducklake_settings('warehouse');
