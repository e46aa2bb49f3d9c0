-- Replace one network's window [start, end) in tune.conversions with the staged sweep.
-- first_seen_at survives from the stored row; a conversion the API no longer returns for the
-- window is gone from the latest state (and counted as vanished).
-- A conversion TUNE still returns is never deleted: one it returned only unreadable (its rows all
-- quarantined; `unreadable_ids`, built by ConversionSweep) keeps its stored row, its last good
-- state, untouched but for held_since, and the ledger records `quarantined` once when it becomes held.
-- A conversion's content is (converted_at, offer_id, status, payout, revenue, sale_amount, currency):
-- the `changed` and `unchanged` counts and the ledger below compare exactly these columns, so a
-- conversion TUNE moves to another time or offer is `changed` and conversions_as_of follows it.
CREATE OR REPLACE TEMP TABLE held AS
SELECT *
FROM tune.conversions
WHERE network = $network
  AND conversion_id IN (SELECT conversion_id FROM unreadable_ids)
  AND conversion_id NOT IN (SELECT conversion_id FROM staged_conversions);

CREATE OR REPLACE TEMP TABLE stored_window AS
SELECT *
FROM tune.conversions
WHERE network = $network
  AND ((converted_at >= $start AND converted_at < $end)
       OR conversion_id IN (SELECT conversion_id FROM staged_conversions))
  AND conversion_id NOT IN (SELECT conversion_id FROM held);

CREATE OR REPLACE TEMP TABLE window_stats AS
SELECT
    (SELECT count(*) FROM staged_conversions) AS rows,
    count(*) FILTER (WHERE old.conversion_id IS NULL) AS new,
    count(*) FILTER (WHERE old.conversion_id IS NOT NULL
                     AND (old.converted_at, old.offer_id, old.status, old.payout, old.revenue, old.sale_amount,
                          old.currency)
                         IS DISTINCT FROM (new.converted_at, new.offer_id, new.status, new.payout, new.revenue,
                                           new.sale_amount, new.currency)) AS changed,
    count(*) FILTER (WHERE old.conversion_id IS NOT NULL
                     AND (old.converted_at, old.offer_id, old.status, old.payout, old.revenue, old.sale_amount,
                          old.currency)
                         IS NOT DISTINCT FROM (new.converted_at, new.offer_id, new.status, new.payout, new.revenue,
                                               new.sale_amount, new.currency)) AS unchanged,
    (SELECT count(*) FROM stored_window
     WHERE conversion_id NOT IN (SELECT conversion_id FROM staged_conversions)) AS vanished,
    (SELECT count(*) FROM held) AS held
FROM staged_conversions AS new
LEFT JOIN stored_window AS old USING (conversion_id);

-- The ledger keeps what changed: new conversions, content changes (time and offer included), and
-- conversions gone from the window.
INSERT INTO tune.conversion_changes
SELECT
    $network, new.conversion_id, $seen_at, $sync_id,
    CASE WHEN old.conversion_id IS NULL THEN 'new' ELSE 'changed' END,
    new.converted_at, new.offer_id, new.status, old.status, new.payout, new.revenue, new.sale_amount, new.currency
FROM staged_conversions AS new
LEFT JOIN stored_window AS old USING (conversion_id)
WHERE old.conversion_id IS NULL
   OR (old.converted_at, old.offer_id, old.status, old.payout, old.revenue, old.sale_amount, old.currency)
      IS DISTINCT FROM (new.converted_at, new.offer_id, new.status, new.payout, new.revenue, new.sale_amount,
                        new.currency);

INSERT INTO tune.conversion_changes
SELECT
    $network, old.conversion_id, $seen_at, $sync_id, 'vanished',
    old.converted_at, old.offer_id, old.status, old.status, old.payout, old.revenue, old.sale_amount, old.currency
FROM stored_window AS old
WHERE old.conversion_id NOT IN (SELECT conversion_id FROM staged_conversions);

-- Held from this sweep on (held until now: nothing new to record).
INSERT INTO tune.conversion_changes
SELECT
    $network, old.conversion_id, $seen_at, $sync_id, 'quarantined',
    old.converted_at, old.offer_id, old.status, old.status, old.payout, old.revenue, old.sale_amount, old.currency
FROM held AS old
WHERE old.held_since IS NULL;

-- The months of the analysts' copy this replacement rewrites (warehouse/publish.py).
INSERT INTO ops.publish_pending
SELECT DISTINCT 'tune.conversions', date_trunc('month', utc_day(converted_at))::DATE
FROM (SELECT converted_at FROM stored_window UNION ALL SELECT converted_at FROM staged_conversions
      UNION ALL SELECT converted_at FROM held WHERE held_since IS NULL)
UNION ALL
SELECT 'tune.conversion_changes', date_trunc('month', $seen_at)::DATE;

UPDATE tune.conversions SET held_since = $seen_at
WHERE network = $network AND held_since IS NULL AND conversion_id IN (SELECT conversion_id FROM held);

DELETE FROM tune.conversions
WHERE network = $network
  AND ((converted_at >= $start AND converted_at < $end)
       OR conversion_id IN (SELECT conversion_id FROM staged_conversions))
  AND conversion_id NOT IN (SELECT conversion_id FROM held);

INSERT INTO tune.conversions
SELECT
    $network AS network,
    new.* EXCLUDE (seq),
    coalesce(old.first_seen_at, $seen_at) AS first_seen_at,
    $seen_at AS last_seen_at,
    NULL AS held_since
FROM staged_conversions AS new
LEFT JOIN stored_window AS old USING (conversion_id)
ORDER BY new.converted_at;
