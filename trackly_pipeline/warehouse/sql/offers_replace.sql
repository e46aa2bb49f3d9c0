-- Replace a network's offer catalog with the one just fetched (registered as incoming_offers).
CREATE OR REPLACE TEMP TABLE previously_imported AS
SELECT offer_id FROM tune.offers WHERE network = $network AND imported;

-- Record what changed against the catalog we had (offer_changes.sql); nothing on the first sync.
CREATE OR REPLACE TEMP TABLE previous_offers AS
SELECT * FROM tune.offers WHERE network = $network;

DELETE FROM tune.offers WHERE network = $network;

INSERT INTO tune.offers
SELECT
    $network AS network,
    o.offer_id, o.name, o.tune_name, o.status, o.payout, o.payout_type, o.percent_payout, o.currency,
    o.advertiser_id, o.advertiser, o.offer_url, o.tracking_url, o.postback_url,
    $import_all
        OR o.offer_id IN (SELECT offer_id FROM previously_imported)
        OR o.offer_id IN (SELECT offer_id FROM requested_ids) AS imported,
    o.modified_at,
    $synced_at AS synced_at
FROM incoming_offers AS o;

-- A renamed offer is renamed on every day of its rollup, not only on the days the next run rebuilds,
-- so analysts grouping by offer_name see one name per offer.
INSERT INTO ops.publish_pending
SELECT DISTINCT 'analytics.revenue_by_offer', date_trunc('month', r.day)::DATE
FROM analytics.revenue_by_offer AS r
JOIN tune.offers AS o USING (network, offer_id)
WHERE r.network = $network AND r.offer_name IS DISTINCT FROM o.name;

UPDATE analytics.revenue_by_offer AS r
SET offer_name = o.name
FROM tune.offers AS o
WHERE o.network = r.network AND o.offer_id = r.offer_id
  AND r.network = $network AND r.offer_name IS DISTINCT FROM o.name;
