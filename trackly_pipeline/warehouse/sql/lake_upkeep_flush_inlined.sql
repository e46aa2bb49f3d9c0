-- Rows DuckLake kept in its catalog (small inserts are inlined there) written out to Parquet files,
-- so that the catalog database does not grow with them.
SELECT coalesce(sum(rows_flushed), 0) AS rows_flushed
FROM ducklake_flush_inlined_data('warehouse');
