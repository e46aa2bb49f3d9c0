-- How many rows a sync quarantined.
SELECT count(*)
FROM ops.quarantine
WHERE sync_id = $sync_id;
