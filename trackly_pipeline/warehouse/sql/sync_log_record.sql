-- A sync's row in the integration log (sync_records.SyncLogEntry); `error` is already redacted.
INSERT INTO ops.sync_log
VALUES (
    $sync_id, $network, $kind, $window_start, $window_end, $started_at, $finished_at, $duration,
    $pages, $rows, $quarantined, $status, $error, $held, $present_at
);
