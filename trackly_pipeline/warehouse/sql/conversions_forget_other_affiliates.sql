-- Forget one network's conversions credited to another affiliate than $affiliate_id: sweeps ask
-- TUNE for that affiliate's conversions only, but a warehouse written before they did (or under
-- another configured affiliate_id) holds every partner's, over its whole history, where no sweep
-- window reaches. Run when ops.network_affiliates does not yet name $affiliate_id for the network;
-- then nothing else can arrive, so the history is read once, not every hour.
CREATE OR REPLACE TEMP TABLE other_affiliates AS
SELECT *
FROM tune.conversions
WHERE network = $network
  AND affiliate_id IS DISTINCT FROM $affiliate_id
  AND affiliate_id IS NOT NULL
  -- One this sweep returns is ours now (TUNE credited it to us): the replacement updates it, or
  -- holds it at its last good state when it came back unreadable.
  AND conversion_id NOT IN (SELECT conversion_id FROM staged_conversions)
  AND conversion_id NOT IN (SELECT conversion_id FROM unreadable_ids);

-- The days to roll up and publish again: theirs, and their attributed rows' (on another day when
-- TUNE moved a conversion and its window has not been attributed since).
CREATE OR REPLACE TEMP TABLE other_affiliate_days AS
SELECT utc_day(converted_at) AS day FROM other_affiliates
UNION
SELECT utc_day(converted_at) FROM analytics.attributed_conversions
WHERE network = $network AND conversion_id IN (SELECT conversion_id FROM other_affiliates);

-- The ledger says why they left: not `vanished` (TUNE still has them), another affiliate's.
INSERT INTO tune.conversion_changes
SELECT
    network, conversion_id, $seen_at, $sync_id, 'other_affiliate',
    converted_at, offer_id, status, status, payout, revenue, sale_amount, currency
FROM other_affiliates;

-- Their days are rolled up again and their months of the analysts' copy published again.
INSERT INTO ops.dirty_days
SELECT day, 'other affiliates ' || $network FROM other_affiliate_days;

INSERT INTO ops.publish_pending
SELECT DISTINCT t.name, date_trunc('month', d.day)::DATE
FROM other_affiliate_days AS d
CROSS JOIN (VALUES ('tune.conversions'), ('analytics.attributed_conversions')) AS t (name)
UNION ALL
SELECT DISTINCT 'tune.conversion_changes', date_trunc('month', $seen_at)::DATE
FROM other_affiliates;

DELETE FROM analytics.attributed_conversions
WHERE network = $network AND conversion_id IN (SELECT conversion_id FROM other_affiliates);

DELETE FROM tune.conversions
WHERE network = $network AND conversion_id IN (SELECT conversion_id FROM other_affiliates);

DELETE FROM ops.network_affiliates WHERE network = $network;
INSERT INTO ops.network_affiliates VALUES ($network, $affiliate_id, $seen_at);
