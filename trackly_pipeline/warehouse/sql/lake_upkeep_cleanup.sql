-- Files scheduled for deletion (by merges, rewrites and expired snapshots) before `older_than`
-- deleted from the data path: a query that began before they were scheduled may still read them.
SELECT count(*) AS files_deleted
FROM ducklake_cleanup_old_files('warehouse', older_than => $older_than);
