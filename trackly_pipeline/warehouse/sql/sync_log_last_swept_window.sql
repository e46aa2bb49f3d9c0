-- The UTC window of a network's latest successful conversion sync: the days reconciliation
-- compares with TUNE's own totals.
SELECT window_start, window_end
FROM ops.sync_log
WHERE network = $network
    AND kind = 'conversions'
    AND status = 'success'
    AND window_start IS NOT NULL
ORDER BY finished_at DESC
LIMIT 1;
