-- Keep one row per conversion of network $network in tune.conversions and in
-- analytics.attributed_conversions (`trackly network dedupe`; duplicate_conversions.sql finds them).
-- tune.conversions keeps the row TUNE confirmed last (latest last_seen_at: the state a sweep stored
-- most recently), then one that is TUNE's latest rather than held at a stale state, then the earliest
-- first seen; attributed_conversions keeps the row attributed last (attributed_at). Rows equal in all
-- of these are copies of each other: the last written is kept.
CREATE OR REPLACE TEMP TABLE removed_conversions AS
SELECT rowid AS row_id, *
FROM tune.conversions
WHERE network = $network
QUALIFY row_number() OVER (PARTITION BY conversion_id
                           ORDER BY last_seen_at DESC, held_since IS NOT NULL, first_seen_at, rowid DESC) > 1;

CREATE OR REPLACE TEMP TABLE removed_attributions AS
SELECT rowid AS row_id, *
FROM analytics.attributed_conversions
WHERE network = $network
QUALIFY row_number() OVER (PARTITION BY conversion_id ORDER BY attributed_at DESC, rowid DESC) > 1;

-- Every day a copy was on (the kept rows' days too: the copies may differ in time): rolled up again,
-- and its months of the analysts' copy published again.
CREATE OR REPLACE TEMP TABLE deduped_days AS
SELECT DISTINCT utc_day(converted_at) AS day
FROM (
    SELECT converted_at FROM tune.conversions
    WHERE network = $network
      AND conversion_id IN (SELECT conversion_id FROM removed_conversions
                            UNION SELECT conversion_id FROM removed_attributions)
    UNION ALL
    SELECT converted_at FROM analytics.attributed_conversions
    WHERE network = $network
      AND conversion_id IN (SELECT conversion_id FROM removed_conversions
                            UNION SELECT conversion_id FROM removed_attributions)
);

INSERT INTO ops.removed_duplicates
SELECT $removed_at, $network, 'tune.conversions', removed.conversion_id, to_json(removed)::VARCHAR
FROM (SELECT * EXCLUDE (row_id) FROM removed_conversions) AS removed
UNION ALL
SELECT $removed_at, $network, 'analytics.attributed_conversions', removed.conversion_id, to_json(removed)::VARCHAR
FROM (SELECT * EXCLUDE (row_id) FROM removed_attributions) AS removed;

INSERT INTO ops.dirty_days
SELECT day, 'dedupe ' || $network FROM deduped_days;

INSERT INTO ops.publish_pending
SELECT DISTINCT t.name, date_trunc('month', d.day)::DATE
FROM deduped_days AS d
CROSS JOIN (VALUES ('tune.conversions'), ('analytics.attributed_conversions')) AS t (name);

DELETE FROM tune.conversions WHERE rowid IN (SELECT row_id FROM removed_conversions);

DELETE FROM analytics.attributed_conversions WHERE rowid IN (SELECT row_id FROM removed_attributions);
