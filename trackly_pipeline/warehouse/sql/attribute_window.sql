-- Resolve one network's conversions in [start, end) to the click and message that earned them.
--   1. ad_id_click     the conversion's ad_id is a Trackly click_id
--   2. sub_id_click    the network's message_id_field holds a click_id (the tracking link passes aff_sub={click_id})
--   3. sub_id_message  the message_id_field holds a known 8-character message id
--   4. unattributed    none of these: kept, with the offer and payout, so nothing is dropped
CREATE OR REPLACE TEMP TABLE window_conversions AS
SELECT
    c.*,
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

-- Only the clicks these conversions can name: a semi-join keeps the click log scan cheap.
CREATE OR REPLACE TEMP TABLE candidate_clicks AS
SELECT click_id, message_id
FROM trackly.clicks
WHERE click_id IN (SELECT ad_id FROM window_conversions UNION SELECT sub_id FROM window_conversions)
QUALIFY row_number() OVER (PARTITION BY click_id ORDER BY clicked_at) = 1;

CREATE OR REPLACE TEMP TABLE resolved_conversions AS
SELECT
    c.*,
    CASE
        WHEN by_ad_id.click_id IS NOT NULL THEN 'ad_id_click'
        WHEN by_sub_id.click_id IS NOT NULL THEN 'sub_id_click'
        WHEN by_message.message_id IS NOT NULL THEN 'sub_id_message'
        ELSE 'unattributed'
    END AS attribution_method,
    coalesce(by_ad_id.click_id, by_sub_id.click_id) AS click_id,
    coalesce(by_ad_id.message_id, by_sub_id.message_id, by_message.message_id) AS message_id
FROM window_conversions AS c
LEFT JOIN candidate_clicks AS by_ad_id ON by_ad_id.click_id = c.ad_id
LEFT JOIN candidate_clicks AS by_sub_id ON by_sub_id.click_id = c.sub_id
LEFT JOIN (SELECT DISTINCT message_id FROM trackly.messages
           WHERE message_id IN (SELECT sub_id FROM window_conversions WHERE length(sub_id) = 8)) AS by_message
       ON by_message.message_id = c.sub_id;

DELETE FROM analytics.attributed_conversions
WHERE network = $network
  AND ((converted_at >= $start AND converted_at < $end)
       OR conversion_id IN (SELECT conversion_id FROM window_conversions));

INSERT INTO analytics.attributed_conversions
WITH priced AS (
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
           ON fx.day = p.converted_at::DATE AND fx.currency = p.payout_currency
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
    CAST(r.payout * r.fx_rate AS DECIMAL(18, 5)) AS payout_reporting,
    r.offer_id,
    r.click_id,
    r.message_id,
    m.creative_id,
    m.campaign_id,
    r.attribution_method,
    $attributed_at AS attributed_at
FROM rated AS r
LEFT JOIN (SELECT DISTINCT ON (message_id) message_id, creative_id, campaign_id
           FROM trackly.messages
           WHERE message_id IN (SELECT message_id FROM resolved_conversions)
           ORDER BY message_id, sent_at) AS m
       ON m.message_id = r.message_id;

INSERT INTO ops.dirty_days
SELECT DISTINCT converted_at::DATE, 'attribution ' || $network FROM window_conversions
UNION
SELECT day, 'attribution ' || $network
FROM range($start::DATE, ($end - INTERVAL 1 MICROSECOND)::DATE + 1, INTERVAL 1 DAY) AS t(day);
