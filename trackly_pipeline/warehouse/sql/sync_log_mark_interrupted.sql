-- Syncs of a network and kind still 'running' when a new one starts never finished: their process
-- was killed or the machine stopped. Their writes were never committed; the log says so. Returns
-- how many.
UPDATE ops.sync_log
SET status = 'interrupted',
    error = 'the sync ended without finishing (process killed or stopped); nothing it read was stored'
WHERE network = $network
    AND kind = $kind
    AND status = 'running';
