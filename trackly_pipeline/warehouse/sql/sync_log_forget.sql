-- A sync's row is written again as it moves on (running -> success or failed): its earlier state
-- goes first.
DELETE FROM ops.sync_log
WHERE sync_id = $sync_id;
