-- What check sync_is_fresh reads of a network in ops.sync_log: the newest hour (window_end) its data
-- reached at each stage.
-- swept: of a successful conversion sweep that reached the present when it ran (window_end is on the
--   hour, so `window_end > present_at - 1 h` is "it reached the present hour's start").
-- attributed: of a successful attribution over hours that had ended when it ran. Rows without
--   present_at (written before the column) are not counted: such a version let a run over future
--   hours succeed with 0 rows, whose window_end would count as attributed until that hour came.
-- published: the rollups row says `success` before it publishes and is replaced by `failed` when
--   the publish fails. While the newest finished rollups run failed, only attributions finished
--   before the newest successful one started are in the analysts' copy; otherwise newer ones wait
--   for the next publish (in a sync run the check runs before the run's rollups).
-- published_since: when the newest successful publish started.
WITH rollups AS (
    SELECT max(started_at) FILTER (WHERE status = 'success') AS published_since,
           arg_max(status, started_at) FILTER (WHERE status <> 'running') AS last_status
    FROM ops.sync_log
    WHERE network = '*' AND kind = 'rollups'
),
attributions AS (
    SELECT window_end, finished_at
    FROM ops.sync_log
    WHERE network = $network AND kind = 'attribution' AND status = 'success'
      AND present_at IS NOT NULL AND window_end <= present_at
)
SELECT
    (SELECT max(window_end) FROM ops.sync_log
     WHERE network = $network AND kind = 'conversions' AND status = 'success'
       AND window_end > present_at - INTERVAL 1 HOUR) AS swept,
    (SELECT max(window_end) FROM attributions) AS attributed,
    (SELECT max(window_end) FROM attributions, rollups
     WHERE coalesce(last_status, 'success') = 'success' OR finished_at <= published_since) AS published,
    (SELECT published_since FROM rollups) AS published_since;
