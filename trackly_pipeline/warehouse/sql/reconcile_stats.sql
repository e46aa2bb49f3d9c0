-- Compare our conversions with TUNE's Report::getStats totals (registered as tune_stats: day, offer_id,
-- currency, conversions, payout) per network-local day, offer and currency, into ops.reconciliation.
-- Same semantics as getStats: conversions = approved and not adjustments; payout = approved payout,
-- adjustment rows included with their sign. Replaces the network's previous result.
DELETE FROM ops.reconciliation WHERE network = $network;

INSERT INTO ops.reconciliation
WITH ours AS (
    SELECT timezone($tz, converted_at)::DATE AS day, offer_id, currency,
           count(*) FILTER (WHERE status = 'approved' AND NOT is_adjustment) AS conversions,
           coalesce(sum(payout) FILTER (WHERE status = 'approved'), 0) AS payout
    FROM tune.conversions
    WHERE network = $network AND converted_at >= $start AND converted_at < $end
    GROUP BY ALL
),
theirs AS (
    SELECT day, offer_id, currency, sum(conversions) AS conversions, sum(payout) AS payout
    FROM tune_stats
    GROUP BY ALL
),
compared AS (
    SELECT coalesce(t.day, o.day) AS day, coalesce(t.offer_id, o.offer_id) AS offer_id,
           coalesce(t.currency, o.currency) AS currency,
           coalesce(t.conversions, 0) AS tune_conversions, coalesce(o.conversions, 0) AS our_conversions,
           coalesce(t.payout, 0) AS tune_payout, coalesce(o.payout, 0) AS our_payout
    FROM theirs AS t
    FULL OUTER JOIN ours AS o
        ON t.day = o.day AND t.offer_id = o.offer_id AND t.currency IS NOT DISTINCT FROM o.currency
)
SELECT $network, day, offer_id, currency, tune_conversions, our_conversions, tune_payout, our_payout,
       our_payout - tune_payout,
       tune_conversions = our_conversions AND abs(our_payout - tune_payout) <= $tolerance,
       $tz, $checked_at
FROM compared
WHERE day BETWEEN $first_day AND $last_day
  AND NOT (tune_conversions = 0 AND our_conversions = 0 AND tune_payout = 0 AND our_payout = 0);
