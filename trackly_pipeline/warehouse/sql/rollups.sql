-- Recompute the daily rollups for the days marked dirty, then clear those marks.
-- Money is in the reporting currency. revenue = approved payouts (adjustment rows count with
-- their sign, so negative adjustments reduce it); pending is shown apart; rejected conversions
-- earn nothing and their payout is shown as rejected_payout.
CREATE OR REPLACE TEMP TABLE rollup_days AS
SELECT DISTINCT day FROM ops.dirty_days;

-- Conversions of those days, split by status once, at the finest grain the rollups share.
CREATE OR REPLACE TEMP TABLE rollup_conversions AS
SELECT
    utc_day(converted_at) AS day, network, offer_id, message_id, creative_id,
    count(*) FILTER (WHERE NOT is_adjustment) AS conversions,
    count(*) FILTER (WHERE NOT is_adjustment AND status = 'approved') AS approved,
    count(*) FILTER (WHERE NOT is_adjustment AND status = 'pending') AS pending,
    count(*) FILTER (WHERE NOT is_adjustment AND status = 'rejected') AS rejected,
    count(*) FILTER (WHERE is_adjustment) AS adjustments,
    coalesce(sum(payout_reporting) FILTER (WHERE status = 'approved'), 0) AS revenue,
    coalesce(sum(payout_reporting) FILTER (WHERE status = 'pending'), 0) AS pending_revenue,
    coalesce(sum(payout_reporting) FILTER (WHERE status = 'rejected'), 0) AS rejected_payout
FROM analytics.attributed_conversions
WHERE converted_at >= (SELECT min(day) FROM rollup_days)
  AND converted_at < (SELECT max(day) FROM rollup_days) + 1
  AND utc_day(converted_at) IN (SELECT day FROM rollup_days)
GROUP BY ALL;

-- Clicks of those days, counted once per (day, message, offer) for the three rollups below.
CREATE OR REPLACE TEMP TABLE rollup_clicks AS
SELECT utc_day(clicked_at) AS day, message_id, network_id, offer_id, count(*) AS clicks
FROM trackly.clicks
WHERE clicked_at >= (SELECT min(day) FROM rollup_days)
  AND clicked_at < (SELECT max(day) FROM rollup_days) + 1
  AND utc_day(clicked_at) IN (SELECT day FROM rollup_days)
GROUP BY ALL;

-- Creative and campaign of the messages these days touch, from their sends however old, so a day's
-- rows never depend on which other days are rebuilt with it (as in attribute_window.sql).
CREATE OR REPLACE TEMP TABLE rollup_messages AS
SELECT message_id, arg_min(creative_id, sent_at) AS creative_id, arg_min(campaign_id, sent_at) AS campaign_id
FROM trackly.messages
WHERE message_id IN (SELECT message_id FROM rollup_clicks
                     UNION SELECT message_id FROM rollup_conversions WHERE message_id IS NOT NULL)
GROUP BY message_id;

-- Per message ------------------------------------------------------------------------------
DELETE FROM analytics.revenue_by_message WHERE day IN (SELECT day FROM rollup_days);
INSERT INTO analytics.revenue_by_message
WITH conversions AS (
    SELECT
        day, message_id,
        sum(conversions) AS conversions, sum(approved) AS approved, sum(pending) AS pending,
        sum(rejected) AS rejected, sum(adjustments) AS adjustments, sum(revenue) AS revenue,
        sum(pending_revenue) AS pending_revenue, sum(rejected_payout) AS rejected_payout
    FROM rollup_conversions
    WHERE message_id IS NOT NULL
    GROUP BY day, message_id
),
clicks AS (
    SELECT day, message_id, sum(clicks) AS clicks
    FROM rollup_clicks
    WHERE message_id IS NOT NULL
    GROUP BY day, message_id
),
messages AS (
    SELECT * FROM rollup_messages
)
SELECT
    day, message_id, m.creative_id, m.campaign_id,
    coalesce(k.clicks, 0),
    coalesce(c.conversions, 0), coalesce(c.approved, 0), coalesce(c.pending, 0), coalesce(c.rejected, 0),
    coalesce(c.adjustments, 0),
    coalesce(c.revenue, 0), coalesce(c.pending_revenue, 0), coalesce(c.rejected_payout, 0)
FROM conversions AS c
FULL JOIN clicks AS k USING (day, message_id)
LEFT JOIN messages AS m USING (message_id);

-- Per creative -----------------------------------------------------------------------------
DELETE FROM analytics.revenue_by_creative WHERE day IN (SELECT day FROM rollup_days);
INSERT INTO analytics.revenue_by_creative
WITH conversions AS (
    SELECT
        day, creative_id,
        sum(conversions) AS conversions, sum(approved) AS approved, sum(pending) AS pending,
        sum(rejected) AS rejected, sum(adjustments) AS adjustments, sum(revenue) AS revenue,
        sum(pending_revenue) AS pending_revenue, sum(rejected_payout) AS rejected_payout
    FROM rollup_conversions
    WHERE creative_id IS NOT NULL
    GROUP BY day, creative_id
),
clicks AS (
    SELECT k.day, m.creative_id, sum(k.clicks) AS clicks
    FROM rollup_clicks AS k
    JOIN rollup_messages AS m USING (message_id)
    GROUP BY k.day, m.creative_id
),
sends AS (
    SELECT utc_day(sent_at) AS day, creative_id, count(*) AS sends
    FROM trackly.messages
    WHERE sent_at >= (SELECT min(day) FROM rollup_days)
      AND sent_at < (SELECT max(day) FROM rollup_days) + 1
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
DELETE FROM analytics.revenue_by_offer WHERE day IN (SELECT day FROM rollup_days);
INSERT INTO analytics.revenue_by_offer
WITH conversions AS (
    SELECT
        day, network, offer_id,
        sum(conversions) AS conversions, sum(approved) AS approved, sum(pending) AS pending,
        sum(rejected) AS rejected, sum(adjustments) AS adjustments, sum(revenue) AS revenue,
        sum(pending_revenue) AS pending_revenue, sum(rejected_payout) AS rejected_payout
    FROM rollup_conversions
    GROUP BY day, network, offer_id
),
clicks AS (
    SELECT k.day, n.network, k.offer_id, sum(k.clicks) AS clicks
    FROM rollup_clicks AS k
    JOIN ops.networks AS n USING (network_id)
    GROUP BY ALL
)
SELECT
    day, network, offer_id, o.name,
    coalesce(k.clicks, 0),
    coalesce(c.conversions, 0), coalesce(c.approved, 0), coalesce(c.pending, 0), coalesce(c.rejected, 0),
    coalesce(c.adjustments, 0),
    coalesce(c.revenue, 0), coalesce(c.pending_revenue, 0), coalesce(c.rejected_payout, 0),
    coalesce(c.revenue, 0) / nullif(k.clicks, 0),
    coalesce(c.conversions, 0) / nullif(k.clicks, 0)
FROM conversions AS c
FULL JOIN clicks AS k USING (day, network, offer_id)
LEFT JOIN tune.offers AS o USING (network, offer_id);

-- The months of the analysts' copy these rollups rewrote (warehouse/publish.py).
INSERT INTO ops.publish_pending
SELECT DISTINCT rollup.name, date_trunc('month', day)::DATE
FROM rollup_days
CROSS JOIN (VALUES ('analytics.revenue_by_message'), ('analytics.revenue_by_creative'),
                   ('analytics.revenue_by_offer')) AS rollup(name);

DELETE FROM ops.dirty_days WHERE day IN (SELECT day FROM rollup_days);
