-- Resolve one network's conversions in [start, end) to the click and message that earned them.
-- The rule (docs/tables.md, "How a conversion is attributed"), for a conversion at time t on offer O:
--   * Looked at: the clicks logged from the conversion's lookup horizon on (t minus its offer's window,
--     at least $min_horizon_days), and each message's sends however old. Nothing else, so a
--     conversion's row never depends on the window of the run that writes it.
--   * A click id logged more than once is its earliest row. A message's first click is the earliest
--     click row logged with it for offer O (a click logged without a network or offer counts for any);
--     its send is its earliest message row. Earliest is a total order: (time, click id, source file,
--     source row), never the order the logs were loaded in.
--   * The passes, first to earn the credit wins (attribution_method):
--       1. ad_id_click     the conversion's ad_id names a click
--       2. sub_id_click    the network's message_id_field names a click (aff_sub={click_id})
--       3. sub_id_message  the message_id_field holds an 8-character message id the logs know
--     A click pass earns the credit when the click it names is not after t (up to $skew_us of clock
--     skew) and its engagement, the first click on its message for O (Trackly's first-click rule:
--     later clicks are not new engagements; the click itself when it has no message, or when it is
--     earlier), is at most the offer's window before t. The message pass: the message's first click
--     for O when it is not after t, else its send when that is not after t, at most the window before t.
--   * 4. unattributed     no pass earns it: kept, with the reason and the raw values looked at.
-- The registered table attribution_windows(offer_id, days) holds per-offer windows.
-- Instants are compared as microseconds (instant_us): no time-zone library call per row.

CREATE OR REPLACE TEMP TABLE window_conversions AS
SELECT
    *,
    nullif(raw_ad_id, '') AS ad_id,
    nullif(raw_sub_id, '') AS sub_id,
    greatest(window_days, $min_horizon_days) * 86400000000 AS horizon_us,
    -- The TUNE network id clicks name (ops.networks, written from trackly.yaml before attribution).
    (SELECT any_value(network_id) FROM ops.networks WHERE network = $network) AS network_id
FROM (
    SELECT
        c.network, c.conversion_id, c.converted_at, c.status, c.is_adjustment, c.payout, c.currency, c.offer_id,
        c.ad_id AS raw_ad_id,
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
        END AS raw_sub_id,
        coalesce(w.days, $default_window_days) AS window_days,
        instant_us(c.converted_at) AS converted_us
    FROM tune.conversions AS c
    LEFT JOIN attribution_windows AS w ON w.offer_id = c.offer_id
    WHERE c.network = $network
      AND c.converted_at >= $start
      AND c.converted_at < $end
);

-- The click each id names, per conversion and pass: the id's earliest row within the conversion's horizon.
CREATE OR REPLACE TEMP TABLE matched_clicks AS
WITH looked_up AS (
    SELECT conversion_id, converted_us, horizon_us, window_days, 'ad_id' AS pass, ad_id AS click_id
    FROM window_conversions
    UNION ALL
    SELECT conversion_id, converted_us, horizon_us, window_days, 'sub_id' AS pass, sub_id AS click_id
    FROM window_conversions
),
named_click_rows AS (
    -- Every logged row of the ids named, from the earliest conversion's horizon on ($lookup_start):
    -- the scan follows the window, not the history.
    SELECT click_id, nullif(message_id, '') AS message_id, instant_us(clicked_at) AS clicked_us, source_file, source_row
    FROM trackly.clicks
    WHERE clicked_at >= $lookup_start
      AND click_id IN (SELECT click_id FROM looked_up)
)
SELECT
    l.conversion_id, l.converted_us, l.window_days, l.pass, l.click_id,
    min(k.clicked_us) AS clicked_us,
    arg_min_null(k.message_id, (k.clicked_us, k.source_file, k.source_row)) AS message_id
FROM looked_up AS l
JOIN named_click_rows AS k
  ON k.click_id = l.click_id AND k.clicked_us >= l.converted_us - l.horizon_us
GROUP BY ALL;

-- The messages the passes lead to: each matched click's, and the sub id read as a message id.
CREATE OR REPLACE TEMP TABLE conversion_messages AS
SELECT m.conversion_id, c.network_id, c.offer_id, c.converted_us, c.horizon_us, m.pass, m.message_id
FROM matched_clicks AS m
JOIN window_conversions AS c USING (conversion_id)
WHERE m.message_id IS NOT NULL
UNION ALL
SELECT conversion_id, network_id, offer_id, converted_us, horizon_us, 'message' AS pass, sub_id
FROM window_conversions
WHERE length(sub_id) = 8;

-- Each of those messages' first click for the conversion's offer within the conversion's horizon.
CREATE OR REPLACE TEMP TABLE first_clicks AS
WITH message_click_rows AS (
    SELECT message_id, click_id, network_id, offer_id, instant_us(clicked_at) AS clicked_us, source_file, source_row
    FROM trackly.clicks
    WHERE clicked_at >= $lookup_start
      AND message_id IN (SELECT message_id FROM conversion_messages)
)
SELECT
    m.conversion_id, m.pass,
    arg_min(k.click_id, (k.clicked_us, k.click_id, k.source_file, k.source_row)) AS click_id,
    min(k.clicked_us) AS clicked_us
FROM conversion_messages AS m
JOIN message_click_rows AS k
  ON k.message_id = m.message_id
 AND k.clicked_us >= m.converted_us - m.horizon_us
 AND (k.network_id IS NULL OR m.network_id IS NULL OR k.network_id = m.network_id)
 AND (k.offer_id IS NULL OR k.offer_id = m.offer_id)
GROUP BY m.conversion_id, m.pass;

-- The first send of each of those messages, however old: an old message clicked today still has its
-- creative. One narrow scan of trackly.messages, a small share of the run even after a year.
CREATE OR REPLACE TEMP TABLE message_sends AS
SELECT message_id, instant_us(first_send.sent_at) AS sent_us, first_send.creative_id, first_send.campaign_id
FROM (SELECT
          message_id,
          arg_min_null({'sent_at': sent_at, 'creative_id': creative_id, 'campaign_id': campaign_id},
                       (sent_at, source_file, source_row)) AS first_send
      FROM trackly.messages
      WHERE message_id IN (SELECT message_id FROM conversion_messages)
      GROUP BY message_id);

-- What each pass found, judged by the rule: the engagement it would credit, and whether it may;
-- then per conversion, the first pass that earns the credit, else what the passes found.
CREATE OR REPLACE TEMP TABLE resolved_conversions AS
WITH click_passes AS (
    SELECT
        m.conversion_id, m.converted_us, m.window_days,
        CASE m.pass WHEN 'ad_id' THEN 1 ELSE 2 END AS pass_order,
        CASE m.pass WHEN 'ad_id' THEN 'ad_id_click' ELSE 'sub_id_click' END AS method,
        m.message_id,
        -- The click named, when it is not after the conversion; the credit goes to its engagement:
        -- the first click on its message for the offer, or the click itself when that is earlier.
        CASE WHEN m.clicked_us <= m.converted_us + $skew_us THEN
            CASE WHEN f.click_id IS NULL OR (m.clicked_us, m.click_id) < (f.clicked_us, f.click_id) THEN m.click_id
                 ELSE f.click_id END
        END AS click_id,
        CASE WHEN m.clicked_us <= m.converted_us + $skew_us THEN least(m.clicked_us, f.clicked_us) END AS engaged_us,
        'click' AS engaged_by,
        'click after the conversion' AS without_engagement
    FROM matched_clicks AS m
    LEFT JOIN first_clicks AS f USING (conversion_id, pass)
),
message_pass AS (
    SELECT
        c.conversion_id, c.converted_us, c.window_days, 3 AS pass_order, 'sub_id_message' AS method,
        c.sub_id AS message_id,
        CASE WHEN f.clicked_us <= c.converted_us + $skew_us THEN f.click_id END AS click_id,
        CASE
            WHEN f.clicked_us <= c.converted_us + $skew_us THEN f.clicked_us
            WHEN s.sent_us BETWEEN c.converted_us - c.horizon_us AND c.converted_us + $skew_us THEN s.sent_us
        END AS engaged_us,
        CASE WHEN f.clicked_us <= c.converted_us + $skew_us THEN 'click' ELSE 'send' END AS engaged_by,
        CASE
            WHEN s.sent_us > c.converted_us + $skew_us THEN 'message sent after the conversion'
            WHEN f.clicked_us IS NOT NULL THEN 'click after the conversion'
            ELSE 'message sent before the lookup horizon'
        END AS without_engagement
    FROM window_conversions AS c
    LEFT JOIN message_sends AS s ON s.message_id = c.sub_id
    LEFT JOIN first_clicks AS f ON f.conversion_id = c.conversion_id AND f.pass = 'message'
    -- A message the logs know: sent, or clicked for the offer within the horizon.
    WHERE length(c.sub_id) = 8 AND (s.message_id IS NOT NULL OR f.click_id IS NOT NULL)
),
pass_outcomes AS (
    SELECT
        *,
        engaged_us IS NOT NULL AND engaged_us >= converted_us - window_days * 86400000000 AS credited,
        CASE
            WHEN engaged_us IS NULL THEN without_engagement
            WHEN engaged_us >= converted_us - window_days * 86400000000 THEN NULL
            WHEN engaged_by = 'click' THEN 'click outside the attribution window'
            ELSE 'message sent outside the attribution window'
        END AS outcome
    FROM (SELECT * FROM click_passes UNION ALL SELECT * FROM message_pass)
)
SELECT
    conversion_id,
    arg_min(method, pass_order) FILTER (WHERE credited) AS attribution_method,
    arg_min_null(click_id, pass_order) FILTER (WHERE credited) AS click_id,
    arg_min_null(message_id, pass_order) FILTER (WHERE credited) AS message_id,
    list_distinct(list(outcome)) AS outcomes
FROM pass_outcomes
GROUP BY conversion_id;

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
SELECT t.day FROM range($start::DATE, ($end - INTERVAL 1 MICROSECOND)::DATE + 1, INTERVAL 1 DAY) AS t (day);

INSERT INTO ops.publish_pending
SELECT DISTINCT 'analytics.attributed_conversions', date_trunc('month', day)::DATE FROM rewritten_days;

INSERT INTO ops.dirty_days
SELECT day, 'attribution ' || $network FROM rewritten_days;

DELETE FROM analytics.attributed_conversions
WHERE network = $network
  AND ((converted_at >= $start AND converted_at < $end)
       OR conversion_id IN (SELECT conversion_id FROM window_conversions));

-- Price and write in one statement: no temporary copy of the wide rows.
INSERT INTO analytics.attributed_conversions
WITH explained AS (
    SELECT
        c.*,
        coalesce(r.attribution_method, 'unattributed') AS attribution_method,
        r.click_id,
        r.message_id,
        -- Why nothing earned the credit, most telling first.
        CASE
            WHEN r.attribution_method IS NOT NULL THEN NULL
            WHEN list_contains(r.outcomes, 'click outside the attribution window')
                THEN 'click outside the attribution window'
            WHEN list_contains(r.outcomes, 'message sent outside the attribution window')
                THEN 'message sent outside the attribution window'
            WHEN list_contains(r.outcomes, 'click after the conversion') THEN 'click after the conversion'
            WHEN list_contains(r.outcomes, 'message sent after the conversion') THEN 'message sent after the conversion'
            WHEN c.sub_id IS NULL AND c.ad_id IS NOT NULL THEN 'no click for the ad_id'
            WHEN c.sub_id IS NULL THEN 'sub-id empty'
            WHEN length(c.sub_id) <> 8 THEN 'sub-id not an 8-character id'
            WHEN list_contains(r.outcomes, 'message sent before the lookup horizon')
                THEN 'message sent before the lookup horizon'
            ELSE 'message id unknown'
        END AS unattributed_reason
    FROM window_conversions AS c
    LEFT JOIN resolved_conversions AS r USING (conversion_id)
),
priced AS (
    SELECT
        e.*,
        coalesce(e.currency, o.currency, n.default_currency) AS payout_currency
    FROM explained AS e
    LEFT JOIN ops.networks AS n ON n.network = e.network
    LEFT JOIN tune.offers AS o ON o.network = e.network AND o.offer_id = e.offer_id
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
    r.raw_ad_id AS looked_at_ad_id,
    $message_id_field AS looked_at_field,
    r.raw_sub_id AS looked_at_sub_id,
    r.window_days AS attribution_window_days,
    $attributed_at AS attributed_at
FROM rated AS r
LEFT JOIN message_sends AS m ON m.message_id = r.message_id;
