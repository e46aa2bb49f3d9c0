-- A re-sweep after the network's time zone changed: every stored conversion's time is read again in
-- the new zone (its wall time in $old_zone, taken in $new_zone), as the sweep reads TUNE's. So one
-- the sweep's window no longer reaches (its wall time is in the hour still going) keeps its stored
-- row in the new terms, and is never taken for vanished; the ledger records the move.
CREATE OR REPLACE TEMP TABLE retimed AS
SELECT conversion_id, converted_at AS old_converted_at,
       timezone($new_zone, timezone($old_zone, converted_at)) AS converted_at
FROM tune.conversions
WHERE network = $network;

DELETE FROM retimed WHERE converted_at = old_converted_at;

INSERT INTO tune.conversion_changes
SELECT c.network, c.conversion_id, $seen_at, $sync_id, 'changed',
       r.converted_at, c.offer_id, c.status, c.status, c.payout, c.revenue, c.sale_amount, c.currency
FROM tune.conversions AS c
JOIN retimed AS r USING (conversion_id)
WHERE c.network = $network;

INSERT INTO ops.publish_pending
SELECT DISTINCT 'tune.conversions', date_trunc('month', utc_day(t))::DATE
FROM (SELECT old_converted_at AS t FROM retimed UNION ALL SELECT converted_at FROM retimed)
UNION ALL
SELECT 'tune.conversion_changes', date_trunc('month', $seen_at)::DATE
WHERE EXISTS (SELECT 1 FROM retimed);

UPDATE tune.conversions AS c SET converted_at = r.converted_at
FROM retimed AS r
WHERE c.network = $network AND c.conversion_id = r.conversion_id;
