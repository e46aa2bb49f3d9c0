-- The demo's report: every step the runs logged in ops.sync_log, in the order they started.
SELECT network, kind, status, pages, rows, quarantined, round(duration_s, 2) AS seconds, error
FROM ops.sync_log ORDER BY started_at;
