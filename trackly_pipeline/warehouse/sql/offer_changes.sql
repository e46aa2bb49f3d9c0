-- What an offer sync changed: previous_offers (the catalog before, from offers_replace.sql) against
-- incoming_offers (what TUNE returned). Only real changes; nothing when there was no catalog before.
INSERT INTO tune.offer_changes
WITH had_catalog AS (SELECT count(*) > 0 AS yes FROM previous_offers),
fields AS (
    SELECT n.offer_id, n.modified_at, 'payout' AS field, CAST(o.payout AS VARCHAR) AS old_value,
           CAST(n.payout AS VARCHAR) AS new_value
    FROM incoming_offers AS n JOIN previous_offers AS o USING (offer_id)
    UNION ALL
    SELECT n.offer_id, n.modified_at, 'status', o.status, n.status
    FROM incoming_offers AS n JOIN previous_offers AS o USING (offer_id)
    UNION ALL
    SELECT n.offer_id, n.modified_at, 'offer_url', o.offer_url, n.offer_url
    FROM incoming_offers AS n JOIN previous_offers AS o USING (offer_id)
    UNION ALL
    SELECT n.offer_id, n.modified_at, 'name', o.tune_name, n.tune_name
    FROM incoming_offers AS n JOIN previous_offers AS o USING (offer_id)
    UNION ALL
    SELECT n.offer_id, n.modified_at, 'payout_type', o.payout_type, n.payout_type
    FROM incoming_offers AS n JOIN previous_offers AS o USING (offer_id)
    UNION ALL
    SELECT n.offer_id, n.modified_at, 'currency', o.currency, n.currency
    FROM incoming_offers AS n JOIN previous_offers AS o USING (offer_id)
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
