-- Snapshots committed before `older_than` expired: time travel no longer reaches them, and the files
-- only they used are scheduled for deletion. DuckLake always keeps the newest snapshot.
SELECT count(*) AS snapshots_expired
FROM ducklake_expire_snapshots('warehouse', older_than => $older_than);
