-- Staged rows that cannot be stored as they are: a conversion id seen again later in the same
-- sweep (the first one is kept), or a row outside the window we asked for.
CREATE OR REPLACE TEMP TABLE staged_rejects AS
SELECT
    s.*,
    CASE
        WHEN s.converted_at < $start OR s.converted_at >= $end THEN 'converted_at outside the requested window'
        ELSE 'duplicate conversion_id in one sweep'
    END AS reason
FROM staged_conversions AS s
QUALIFY row_number() OVER (PARTITION BY s.conversion_id ORDER BY s.seq) > 1
     OR s.converted_at < $start
     OR s.converted_at >= $end;

INSERT INTO ops.quarantine
SELECT $sync_id, $network, 'conversion', r.conversion_id::VARCHAR, r.reason, to_json(r)::VARCHAR, $seen_at
FROM staged_rejects AS r;

INSERT INTO ops.publish_pending
SELECT 'ops.quarantine', date_trunc('month', $seen_at)::DATE WHERE EXISTS (SELECT 1 FROM staged_rejects);

DELETE FROM staged_conversions WHERE seq IN (SELECT seq FROM staged_rejects);
