-- A sync's recorded status, if any: a kept outcome (unrecorded.py) is written unless the log
-- already says it.
SELECT status
FROM ops.sync_log
WHERE sync_id = $sync_id;
