-- Files under the data path that the catalog does not know (a writer killed before its commit),
-- written before `older_than`, deleted: a younger one may be a running writer's, not yet committed.
SELECT count(*) AS orphans_deleted
FROM ducklake_delete_orphaned_files('warehouse', older_than => $older_than);
