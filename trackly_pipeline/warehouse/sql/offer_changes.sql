-- What an offer sync changed: previous_offers (the catalog before, from offers_replace.sql) against
-- incoming_offers (what TUNE returned). Only real changes; nothing when there was no catalog before.
INSERT INTO tune.offer_changes
WITH had_catalog AS (SELECT count(*) > 0 AS yes FROM previous_offers),
fields AS (
    -- One row per compared field of each offer in both catalogs.
    SELECT n.offer_id, n.modified_at, u.f.field, u.f.old_value, u.f.new_value
    FROM incoming_offers AS n
    JOIN previous_offers AS o USING (offer_id),
    unnest([
        {'field': 'payout', 'old_value': CAST(o.payout AS VARCHAR), 'new_value': CAST(n.payout AS VARCHAR)},
        {'field': 'status', 'old_value': o.status, 'new_value': n.status},
        {'field': 'offer_url', 'old_value': o.offer_url, 'new_value': n.offer_url},
        {'field': 'name', 'old_value': o.tune_name, 'new_value': n.tune_name},
        {'field': 'payout_type', 'old_value': o.payout_type, 'new_value': n.payout_type},
        {'field': 'currency', 'old_value': o.currency, 'new_value': n.currency}
    ]) AS u (f)
)
SELECT $network, offer_id, 'changed', field, old_value, new_value, modified_at, $sync_id, $synced_at
FROM fields
WHERE old_value IS DISTINCT FROM new_value
UNION ALL
SELECT $network, n.offer_id, 'added', NULL, NULL, n.tune_name, n.modified_at, $sync_id, $synced_at
FROM incoming_offers AS n
WHERE (SELECT yes FROM had_catalog) AND n.offer_id NOT IN (SELECT offer_id FROM previous_offers)
UNION ALL
SELECT $network, o.offer_id, 'removed', NULL, o.tune_name, NULL, o.modified_at, $sync_id, $synced_at
FROM previous_offers AS o
WHERE o.offer_id NOT IN (SELECT offer_id FROM incoming_offers);
