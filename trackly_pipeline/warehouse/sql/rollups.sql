-- Recompute the daily rollups for the days marked dirty, then clear those marks.
-- Money is in the reporting currency. revenue = approved payouts (adjustment rows count with
-- their sign, so negative adjustments reduce it); pending is shown apart; rejected conversions
-- earn nothing and their payout is shown as rejected_payout.
CREATE OR REPLACE TEMP TABLE rollup_days AS
SELECT DISTINCT day FROM ops.dirty_days;
-- Each source below is cut to [first day, last day + 1] before the exact `utc_day(..) IN rollup_days`
-- test, so a scan skips other days' row groups. `<=`, not `<`: a log may hold +infinity, whose day
-- is +infinity, and +infinity + 1 is not above it.

-- Conversions of those days, split by status, summed once per grain the rollups report: per message,
-- per creative, per offer (one scan, GROUPING SETS). `grain` says which set a row belongs to.
CREATE OR REPLACE TEMP TABLE rollup_conversions AS
SELECT
    CASE WHEN grouping(message_id) = 0 THEN 'message' WHEN grouping(creative_id) = 0 THEN 'creative'
         ELSE 'offer' END AS grain,
    day, message_id, creative_id, network, offer_id,
    count(*) FILTER (WHERE NOT is_adjustment) AS conversions,
    count(*) FILTER (WHERE NOT is_adjustment AND status = 'approved') AS approved,
    count(*) FILTER (WHERE NOT is_adjustment AND status = 'pending') AS pending,
    count(*) FILTER (WHERE NOT is_adjustment AND status = 'rejected') AS rejected,
    count(*) FILTER (WHERE is_adjustment) AS adjustments,
    coalesce(sum(payout_reporting) FILTER (WHERE status = 'approved'), 0) AS revenue,
    coalesce(sum(payout_reporting) FILTER (WHERE status = 'pending'), 0) AS pending_revenue,
    coalesce(sum(payout_reporting) FILTER (WHERE status = 'rejected'), 0) AS rejected_payout
FROM (SELECT utc_day(converted_at) AS day, * FROM analytics.attributed_conversions
      WHERE converted_at >= (SELECT min(day) FROM rollup_days)
        AND converted_at <= (SELECT max(day) FROM rollup_days) + 1
        AND utc_day(converted_at) IN (SELECT day FROM rollup_days))
GROUP BY GROUPING SETS ((day, message_id), (day, creative_id), (day, network, offer_id));

-- Clicks of those days, counted once per message and once per offer (with the account it was for).
CREATE OR REPLACE TEMP TABLE rollup_clicks AS
SELECT
    CASE WHEN grouping(message_id) = 0 THEN 'message' ELSE 'offer' END AS grain,
    day, message_id, network_id, affiliate_id, offer_id, count(*) AS clicks
FROM (SELECT utc_day(clicked_at) AS day, message_id, network_id, affiliate_id, offer_id FROM trackly.clicks
      WHERE clicked_at >= (SELECT min(day) FROM rollup_days)
        AND clicked_at <= (SELECT max(day) FROM rollup_days) + 1
        AND utc_day(clicked_at) IN (SELECT day FROM rollup_days))
GROUP BY GROUPING SETS ((day, message_id), (day, network_id, affiliate_id, offer_id));

-- The network key a click counts for: the one configured for the click's network_id and affiliate_id
-- (the account its tracking link was built for); for a click logged without an affiliate id, the
-- only key on its network_id. Several keys may share a network_id (several affiliate accounts on one
-- TUNE network): a click without an affiliate id there could be any of theirs, so it counts for no
-- key's offer (its message and creative still count it); config.py warns of this at load. A key
-- stored without an affiliate id (ops.networks written before the column) takes every click on its
-- network_id when it is the only key there; an account configured under two keys takes none. So no
-- click ever counts for two keys.
CREATE OR REPLACE TEMP TABLE rollup_click_keys AS
SELECT network, network_id, affiliate_id,
       count(*) OVER (PARTITION BY network_id) AS keys_on_network,
       count(*) OVER (PARTITION BY network_id, affiliate_id) AS keys_on_account
FROM ops.networks;

-- Creative and campaign of the messages these days touch, from their first send however old, so a
-- day's rows never depend on which other days are rebuilt with it; first by the total order
-- attribute_window.sql uses, never by load order.
CREATE OR REPLACE TEMP TABLE rollup_messages AS
SELECT message_id, first_send.creative_id, first_send.campaign_id
FROM (SELECT
          message_id,
          arg_min_null({'creative_id': creative_id, 'campaign_id': campaign_id},
                       (sent_at, source_file, source_row)) AS first_send
      FROM trackly.messages
      WHERE message_id IN (SELECT message_id FROM rollup_clicks WHERE grain = 'message'
                           UNION SELECT message_id FROM rollup_conversions WHERE grain = 'message')
      GROUP BY message_id);

-- Per message ------------------------------------------------------------------------------
DELETE FROM analytics.revenue_by_message WHERE day IN (SELECT day FROM rollup_days);
INSERT INTO analytics.revenue_by_message
WITH conversions AS (
    SELECT * FROM rollup_conversions WHERE grain = 'message' AND message_id IS NOT NULL
),
clicks AS (
    SELECT day, message_id, clicks FROM rollup_clicks WHERE grain = 'message' AND message_id IS NOT NULL
)
SELECT
    day, message_id, m.creative_id, m.campaign_id,
    coalesce(k.clicks, 0),
    coalesce(c.conversions, 0), coalesce(c.approved, 0), coalesce(c.pending, 0), coalesce(c.rejected, 0),
    coalesce(c.adjustments, 0),
    coalesce(c.revenue, 0), coalesce(c.pending_revenue, 0), coalesce(c.rejected_payout, 0)
FROM conversions AS c
FULL JOIN clicks AS k USING (day, message_id)
LEFT JOIN rollup_messages AS m USING (message_id);

-- Per creative -----------------------------------------------------------------------------
DELETE FROM analytics.revenue_by_creative WHERE day IN (SELECT day FROM rollup_days);
INSERT INTO analytics.revenue_by_creative
WITH conversions AS (
    SELECT * FROM rollup_conversions WHERE grain = 'creative' AND creative_id IS NOT NULL
),
clicks AS (
    SELECT k.day, m.creative_id, sum(k.clicks) AS clicks
    FROM rollup_clicks AS k
    JOIN rollup_messages AS m USING (message_id)
    WHERE k.grain = 'message'
    GROUP BY k.day, m.creative_id
),
sends AS (
    SELECT utc_day(sent_at) AS day, creative_id, count(*) AS sends
    FROM trackly.messages
    WHERE sent_at >= (SELECT min(day) FROM rollup_days)
      AND sent_at <= (SELECT max(day) FROM rollup_days) + 1
      AND utc_day(sent_at) IN (SELECT day FROM rollup_days)
    GROUP BY ALL
)
SELECT
    day, creative_id,
    coalesce(s.sends, 0), coalesce(k.clicks, 0),
    coalesce(c.conversions, 0), coalesce(c.approved, 0), coalesce(c.pending, 0), coalesce(c.rejected, 0),
    coalesce(c.adjustments, 0),
    coalesce(c.revenue, 0), coalesce(c.pending_revenue, 0), coalesce(c.rejected_payout, 0),
    coalesce(c.revenue, 0) / nullif(k.clicks, 0),
    coalesce(c.conversions, 0) / nullif(k.clicks, 0),
    coalesce(c.revenue, 0) / nullif(s.sends, 0)
FROM conversions AS c
FULL JOIN clicks AS k USING (day, creative_id)
FULL JOIN sends AS s USING (day, creative_id)
WHERE creative_id IS NOT NULL;

-- Per offer --------------------------------------------------------------------------------
-- An offer that has left the catalog (expired, deleted in TUNE) keeps the last name its rows had,
-- on rebuilt days too: its history reads under one name.
CREATE OR REPLACE TEMP TABLE departed_offer_names AS
SELECT network, offer_id, arg_max(offer_name, day) AS offer_name
FROM analytics.revenue_by_offer
ANTI JOIN tune.offers USING (network, offer_id)
WHERE offer_name IS NOT NULL
GROUP BY network, offer_id;

DELETE FROM analytics.revenue_by_offer WHERE day IN (SELECT day FROM rollup_days);
INSERT INTO analytics.revenue_by_offer
WITH conversions AS (
    SELECT * FROM rollup_conversions WHERE grain = 'offer'
),
clicks AS (
    -- A click whose log row names no offer, or no key (rollup_click_keys), counts for its message only.
    SELECT k.day, n.network, k.offer_id, sum(k.clicks) AS clicks
    FROM rollup_clicks AS k
    JOIN rollup_click_keys AS n
      ON n.network_id = k.network_id
     AND ((k.affiliate_id = n.affiliate_id AND n.keys_on_account = 1)
          OR (n.keys_on_network = 1 AND (k.affiliate_id IS NULL OR n.affiliate_id IS NULL)))
    WHERE k.grain = 'offer' AND k.offer_id IS NOT NULL
    GROUP BY ALL
)
SELECT
    day, network, offer_id, coalesce(o.name, departed.offer_name),
    coalesce(k.clicks, 0),
    coalesce(c.conversions, 0), coalesce(c.approved, 0), coalesce(c.pending, 0), coalesce(c.rejected, 0),
    coalesce(c.adjustments, 0),
    coalesce(c.revenue, 0), coalesce(c.pending_revenue, 0), coalesce(c.rejected_payout, 0),
    coalesce(c.revenue, 0) / nullif(k.clicks, 0),
    coalesce(c.conversions, 0) / nullif(k.clicks, 0)
FROM conversions AS c
FULL JOIN clicks AS k USING (day, network, offer_id)
LEFT JOIN tune.offers AS o USING (network, offer_id)
LEFT JOIN departed_offer_names AS departed USING (network, offer_id);

-- The months of the analysts' copy these rollups rewrote (warehouse/publish.py).
INSERT INTO ops.publish_pending
SELECT DISTINCT rollup.name, date_trunc('month', day)::DATE
FROM rollup_days
CROSS JOIN (VALUES ('analytics.revenue_by_message'), ('analytics.revenue_by_creative'),
                   ('analytics.revenue_by_offer')) AS rollup (name);

DELETE FROM ops.dirty_days WHERE day IN (SELECT day FROM rollup_days);
