-- Rebuild analytics.payout_mismatches: conversions (adjustments aside) paid differently from their
-- offer's default payout (another amount, or another currency than the offer's), grouped per
-- network, offer, conversion currency and likely cause. The first cause that applies wins:
--   currency          the conversion's currency is not the offer's (a conversion without one is paid in the offer's)
--   payout type       the offer is not cpa_flat, so the amount depends on the sale (or is 0 for cpc/cpm)
--   stale offer sync  TUNE modified the offer after our last successful offer sync started, or the
--                     amount equals an earlier default payout of the offer (tune.offer_changes)
--   custom payout per affiliate   otherwise (TUNE pays our affiliate a custom amount)
DELETE FROM analytics.payout_mismatches;

INSERT INTO analytics.payout_mismatches
WITH last_offer_sync AS (
    SELECT network, max(started_at) AS started_at
    FROM ops.sync_log
    WHERE kind = 'offers' AND status = 'success'
    GROUP BY network
),
earlier_payouts AS (
    SELECT DISTINCT network, offer_id, TRY_CAST(old_value AS DECIMAL(18, 5)) AS payout
    FROM tune.offer_changes
    WHERE change = 'changed' AND field = 'payout'
),
paid AS (
    SELECT c.network, c.offer_id, c.currency AS conversion_currency, c.payout AS paid, c.converted_at,
           o.name, o.status, o.payout AS offer_payout, o.payout_type, o.currency AS offer_currency,
           CASE
               WHEN c.currency <> o.currency THEN 'currency'  -- NULL on either side is no mismatch
               WHEN (o.payout_type IS DISTINCT FROM 'cpa_flat') THEN 'payout type'
               WHEN o.modified_at > s.started_at
                    OR EXISTS (SELECT 1 FROM earlier_payouts AS e
                               WHERE e.network = c.network AND e.offer_id = c.offer_id AND e.payout = c.payout)
                   THEN 'stale offer sync'
               ELSE 'custom payout per affiliate'
           END AS likely_cause
    FROM tune.conversions AS c
    JOIN tune.offers AS o USING (network, offer_id)
    LEFT JOIN last_offer_sync AS s USING (network)
    WHERE NOT c.is_adjustment
      AND (c.payout <> o.payout OR c.currency <> o.currency)
),
amounts AS (
    SELECT network, offer_id, conversion_currency, likely_cause, paid, count(*) AS n
    FROM paid
    GROUP BY ALL
),
typical AS (
    SELECT network, offer_id, conversion_currency, likely_cause, first(paid ORDER BY n DESC, paid) AS typical_paid
    FROM amounts
    GROUP BY ALL
)
SELECT p.network, p.offer_id, any_value(p.name), any_value(p.status), any_value(p.offer_payout),
       any_value(p.payout_type), any_value(p.offer_currency), p.conversion_currency, p.likely_cause,
       count(*), min(p.paid), max(p.paid), any_value(t.typical_paid), min(p.converted_at), max(p.converted_at),
       $computed_at
FROM paid AS p
JOIN typical AS t
    ON t.network = p.network AND t.offer_id = p.offer_id AND t.likely_cause = p.likely_cause
   AND t.conversion_currency IS NOT DISTINCT FROM p.conversion_currency
GROUP BY p.network, p.offer_id, p.conversion_currency, p.likely_cause;
