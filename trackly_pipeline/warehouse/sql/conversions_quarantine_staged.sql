-- Staged rows that cannot be stored as they are: a conversion id seen again later in the same
-- sweep (the first one is kept). A row whose time lies outside the swept window is stored: the
-- client asked TUNE for every network-local time the window's instants can have, and a time the
-- fall-back repeats reads as its later instant, which can lie past the window's end (or a row
-- outside the range asked for was rejected by the client already, as TUNE ignoring the filter).
CREATE OR REPLACE TEMP TABLE staged_rejects AS
SELECT
    s.*,
    'duplicate conversion_id in one sweep' AS reason
FROM staged_conversions AS s
QUALIFY row_number() OVER (PARTITION BY s.conversion_id ORDER BY s.seq) > 1;

INSERT INTO ops.quarantine
SELECT $sync_id, $network, 'conversion', r.conversion_id::VARCHAR, r.reason, to_json(r)::VARCHAR, $seen_at
FROM staged_rejects AS r;

INSERT INTO ops.publish_pending
SELECT 'ops.quarantine', date_trunc('month', $seen_at)::DATE WHERE EXISTS (SELECT 1 FROM staged_rejects);

DELETE FROM staged_conversions WHERE seq IN (SELECT seq FROM staged_rejects);
