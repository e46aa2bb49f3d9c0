-- Resolve one network's conversions in [start, end) to the click and message that earned them.
--   1. ad_id_click     the conversion's ad_id is a Trackly click_id
--   2. sub_id_click    the network's message_id_field holds a click_id (the tracking link passes aff_sub={click_id})
--   3. sub_id_message  the message_id_field holds a known 8-character message id (credit: its first click)
--   4. unattributed    none of these within the offer's attribution window: kept, with the reason and
--                      the raw values looked at, so nothing is dropped
-- The registered table attribution_windows(offer_id, days) holds per-offer windows.
CREATE OR REPLACE TEMP TABLE window_conversions AS
SELECT
    c.network, c.conversion_id, c.converted_at, c.status, c.is_adjustment, c.payout, c.currency, c.offer_id, c.ad_id,
    CASE $message_id_field
        WHEN 'aff_sub' THEN c.aff_sub
        WHEN 'aff_sub2' THEN c.aff_sub2
        WHEN 'aff_sub3' THEN c.aff_sub3
        WHEN 'aff_sub4' THEN c.aff_sub4
        WHEN 'aff_sub5' THEN c.aff_sub5
        WHEN 'source' THEN c.source
        WHEN 'affiliate_unique1' THEN c.affiliate_unique1
        WHEN 'affiliate_unique2' THEN c.affiliate_unique2
        WHEN 'affiliate_unique3' THEN c.affiliate_unique3
        WHEN 'affiliate_unique4' THEN c.affiliate_unique4
        WHEN 'affiliate_unique5' THEN c.affiliate_unique5
    END AS sub_id
FROM tune.conversions AS c
WHERE c.network = $network
  AND c.converted_at >= $start
  AND c.converted_at < $end;

-- Only the clicks these conversions can name, made since $lookup_start (the longest attribution
-- window, at least 30 days, before the window): the scan follows the window, not the history, and
-- hash aggregates pick the first row per key without sorting.
CREATE OR REPLACE TEMP TABLE candidate_clicks AS
SELECT click_id, arg_min(message_id, clicked_at) AS message_id, min(clicked_at) AS clicked_at
FROM trackly.clicks
WHERE clicked_at >= $lookup_start
  AND click_id IN (SELECT ad_id FROM window_conversions UNION SELECT sub_id FROM window_conversions)
GROUP BY click_id;

-- The send of every message named or clicked, however old: an old message clicked today still has
-- its creative. One narrow scan of trackly.messages, a small share of the run even after a year.
CREATE OR REPLACE TEMP TABLE candidate_message_facts AS
SELECT
    message_id,
    min(sent_at) AS sent_at,
    arg_min(creative_id, sent_at) AS creative_id,
    arg_min(campaign_id, sent_at) AS campaign_id
FROM trackly.messages
WHERE message_id IN (SELECT sub_id FROM window_conversions WHERE length(sub_id) = 8
                     UNION SELECT message_id FROM candidate_clicks)
GROUP BY message_id;

-- A message named by its id gets the credit through its first click (Trackly's first-click rule);
-- a message nobody clicked is measured from its send. Only messages sent since $lookup_start: their
-- clicks all follow the send, so the same horizon sees every one of them and the first is exact.
CREATE OR REPLACE TEMP TABLE candidate_messages AS
SELECT
    m.message_id,
    first_click.click_id,
    coalesce(first_click.clicked_at, m.sent_at) AS engaged_at
FROM candidate_message_facts AS m
LEFT JOIN (SELECT message_id, arg_min(click_id, (clicked_at, click_id)) AS click_id, min(clicked_at) AS clicked_at
           FROM trackly.clicks
           WHERE clicked_at >= $lookup_start
             AND message_id IN (SELECT sub_id FROM window_conversions WHERE length(sub_id) = 8)
           GROUP BY message_id) AS first_click
       USING (message_id)
WHERE m.sent_at >= $lookup_start
  AND m.message_id IN (SELECT sub_id FROM window_conversions WHERE length(sub_id) = 8);

-- Every day this rewrites: the window's, and any day a conversion moved out of (TUNE can change a
-- conversion's time). Their rollups are rebuilt and their months of the analysts' copy published.
CREATE OR REPLACE TEMP TABLE rewritten_days AS
SELECT utc_day(converted_at) AS day
FROM analytics.attributed_conversions
WHERE network = $network
  AND ((converted_at >= $start AND converted_at < $end)
       OR conversion_id IN (SELECT conversion_id FROM window_conversions))
UNION
SELECT utc_day(converted_at) FROM window_conversions
UNION
SELECT day FROM range($start::DATE, ($end - INTERVAL 1 MICROSECOND)::DATE + 1, INTERVAL 1 DAY) AS t(day);

INSERT INTO ops.publish_pending
SELECT DISTINCT 'analytics.attributed_conversions', date_trunc('month', day)::DATE FROM rewritten_days;

INSERT INTO ops.dirty_days
SELECT day, 'attribution ' || $network FROM rewritten_days;

DELETE FROM analytics.attributed_conversions
WHERE network = $network
  AND ((converted_at >= $start AND converted_at < $end)
       OR conversion_id IN (SELECT conversion_id FROM window_conversions));

-- Resolve and write in one statement: no temporary copy of the wide resolved rows.
INSERT INTO analytics.attributed_conversions
WITH matched AS (
    SELECT
        c.*,
        coalesce(w.days, $default_window_days) AS window_days,
        by_ad_id.click_id AS ad_click_id, by_ad_id.message_id AS ad_message_id, by_ad_id.clicked_at AS ad_clicked_at,
        by_sub_id.click_id AS sub_click_id, by_sub_id.message_id AS sub_message_id, by_sub_id.clicked_at AS sub_clicked_at,
        by_message.message_id AS named_message_id, by_message.click_id AS named_click_id,
        by_message.engaged_at AS named_engaged_at,
        named_send.sent_at AS named_message_sent_at
    FROM window_conversions AS c
    LEFT JOIN attribution_windows AS w ON w.offer_id = c.offer_id
    LEFT JOIN candidate_clicks AS by_ad_id ON by_ad_id.click_id = c.ad_id
    LEFT JOIN candidate_clicks AS by_sub_id ON by_sub_id.click_id = c.sub_id
    LEFT JOIN candidate_messages AS by_message ON by_message.message_id = c.sub_id
    LEFT JOIN candidate_message_facts AS named_send ON named_send.message_id = c.sub_id
),
passes AS (
    -- Each pass counts only inside the offer's attribution window (click or send -> conversion).
    SELECT
        *,
        ad_click_id IS NOT NULL
            AND within_days(ad_clicked_at, converted_at, window_days) AS ad_id_hits,
        sub_click_id IS NOT NULL
            AND within_days(sub_clicked_at, converted_at, window_days) AS sub_click_hits,
        named_message_id IS NOT NULL
            AND within_days(named_engaged_at, converted_at, window_days) AS message_hits
    FROM matched
),
resolved_conversions AS (
    SELECT
        * EXCLUDE (ad_id_hits, sub_click_hits, message_hits, named_message_sent_at),
        CASE
            WHEN ad_id_hits THEN 'ad_id_click'
            WHEN sub_click_hits THEN 'sub_id_click'
            WHEN message_hits THEN 'sub_id_message'
            ELSE 'unattributed'
        END AS attribution_method,
        CASE
            WHEN ad_id_hits THEN ad_click_id
            WHEN sub_click_hits THEN sub_click_id
            WHEN message_hits THEN named_click_id
        END AS click_id,
        CASE
            WHEN ad_id_hits THEN ad_message_id
            WHEN sub_click_hits THEN sub_message_id
            WHEN message_hits THEN named_message_id
        END AS message_id,
        -- Why nothing matched, most telling first.
        CASE
            WHEN ad_id_hits OR sub_click_hits OR message_hits THEN NULL
            WHEN coalesce(ad_click_id, sub_click_id, named_message_id) IS NOT NULL THEN 'click outside the attribution window'
            WHEN coalesce(sub_id, '') = '' AND coalesce(ad_id, '') <> '' THEN 'no click for the ad_id'
            WHEN coalesce(sub_id, '') = '' THEN 'sub-id empty'
            WHEN length(sub_id) <> 8 THEN 'sub-id not an 8-character id'
            WHEN named_message_sent_at IS NOT NULL THEN 'message sent before the lookup horizon'
            ELSE 'message id unknown'
        END AS unattributed_reason
    FROM passes
),
priced AS (
    SELECT
        r.*,
        coalesce(r.currency, o.currency, n.default_currency) AS payout_currency
    FROM resolved_conversions AS r
    LEFT JOIN ops.networks AS n ON n.network = r.network
    LEFT JOIN tune.offers AS o ON o.network = r.network AND o.offer_id = r.offer_id
),
rated AS (
    -- A rate is used only for the conversion's own day: a missing rate stays NULL (never guessed).
    SELECT
        p.*,
        CASE WHEN p.payout_currency = $reporting_currency THEN 1 ELSE fx.rate END AS fx_rate
    FROM priced AS p
    LEFT JOIN reference.fx_rates AS fx
           ON fx.day = utc_day(p.converted_at) AND fx.currency = p.payout_currency
)
SELECT
    r.network,
    r.conversion_id,
    r.converted_at,
    r.status,
    r.is_adjustment,
    r.payout,
    r.payout_currency AS currency,
    $reporting_currency AS reporting_currency,
    r.fx_rate,
    -- DECIMAL(18,5) x DECIMAL(18,8) would be DECIMAL(18,13): under 100,000 only. Widen first; the
    -- 128-bit product is the slowest expression here, so a payout already in the reporting
    -- currency is taken as it is.
    CASE WHEN r.fx_rate = 1 THEN r.payout
         ELSE CAST(CAST(r.payout AS DECIMAL(38, 5)) * r.fx_rate AS DECIMAL(18, 5))
    END AS payout_reporting,
    r.offer_id,
    r.click_id,
    r.message_id,
    m.creative_id,
    m.campaign_id,
    r.attribution_method,
    r.unattributed_reason,
    r.ad_id AS looked_at_ad_id,
    $message_id_field AS looked_at_field,
    r.sub_id AS looked_at_sub_id,
    r.window_days AS attribution_window_days,
    $attributed_at AS attributed_at
FROM rated AS r
LEFT JOIN candidate_message_facts AS m ON m.message_id = r.message_id;
