-- The warehouse: the analysts' contract. Every column is documented in docs/tables.md.
-- Idempotent: run at the start of every writing step. A new column goes at the end of its table:
-- an existing warehouse then gets it by itself (warehouse/schema.py).
CREATE SCHEMA IF NOT EXISTS tune;
CREATE SCHEMA IF NOT EXISTS trackly;
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS reference;

-- The macros' parameters read as column types to sqlfluff's DuckDB parser: CP05 would upper-case them.
-- noqa: disable=CP05
-- The UTC day of a TIMESTAMPTZ: what `ts::DATE` gives under TimeZone 'UTC', whatever the session's
-- zone, and without the time-zone library that cast calls on every row (about 9x slower). Only
-- +-infinity (a log file may hold it) takes the cast.
CREATE OR REPLACE MACRO utc_day(ts) AS
    CASE WHEN isfinite(ts) THEN make_timestamp(epoch_us(ts))::DATE ELSE ts::DATE END;
-- Whether `later` is at most `days` UTC days (of 24 hours) after `earlier` (or before it): counted in
-- microseconds, about 4x faster than comparing `later - earlier` as a zone-aware INTERVAL, same answer.
CREATE OR REPLACE MACRO within_days(earlier, later, days) AS epoch_us(later) - epoch_us(earlier) <= days * 86400000000;
-- Microseconds since 1970-01-01 UTC, with +-infinity (a log file may hold it) as the largest and
-- smallest BIGINT instead of NULL, so that every time orders and compares: attribution compares
-- instants as these integers (no time-zone library per row).
CREATE OR REPLACE MACRO instant_us(ts) AS
    CASE WHEN isfinite(ts) THEN epoch_us(ts) WHEN ts = 'infinity' THEN 9223372036854775807
         WHEN ts = '-infinity' THEN -9223372036854775807 END;
-- noqa: enable=CP05

-- Offer catalog per network, as last synced.
CREATE TABLE IF NOT EXISTS tune.offers (
    network        VARCHAR NOT NULL,
    offer_id       BIGINT NOT NULL,
    name           VARCHAR,            -- with the network's offer_name_prefix
    tune_name      VARCHAR,            -- as TUNE names it
    status         VARCHAR,
    payout         DECIMAL(18, 5),     -- TUNE default_payout
    payout_type    VARCHAR,
    percent_payout DECIMAL(18, 5),
    currency       VARCHAR,            -- offer currency, or the network default when TUNE has none
    advertiser_id  BIGINT,
    advertiser     VARCHAR,
    offer_url      VARCHAR,
    tracking_url   VARCHAR,
    postback_url   VARCHAR,
    imported       BOOLEAN NOT NULL,
    modified_at    TIMESTAMPTZ,
    synced_at      TIMESTAMPTZ NOT NULL
);

-- One row per TUNE conversion, latest state. Key: (network, conversion_id).
CREATE TABLE IF NOT EXISTS tune.conversions (
    network           VARCHAR NOT NULL,
    conversion_id     BIGINT NOT NULL,
    tune_event_id     VARCHAR,
    converted_at      TIMESTAMPTZ NOT NULL,
    ad_id             VARCHAR,
    offer_id          BIGINT NOT NULL,
    affiliate_id      BIGINT,
    goal_id           BIGINT,
    status            VARCHAR NOT NULL,
    status_code       INTEGER,
    is_adjustment     BOOLEAN NOT NULL,
    payout            DECIMAL(18, 5) NOT NULL,
    revenue           DECIMAL(18, 5),
    sale_amount       DECIMAL(18, 5),
    currency          VARCHAR,
    aff_sub           VARCHAR,
    aff_sub2          VARCHAR,
    aff_sub3          VARCHAR,
    aff_sub4          VARCHAR,
    aff_sub5          VARCHAR,
    source            VARCHAR,
    affiliate_unique1 VARCHAR,
    affiliate_unique2 VARCHAR,
    affiliate_unique3 VARCHAR,
    affiliate_unique4 VARCHAR,
    affiliate_unique5 VARCHAR,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    last_seen_at      TIMESTAMPTZ NOT NULL,
    -- When a sweep first got this conversion back unreadable (quarantined) while the row here is its
    -- last good state; NULL when the row is TUNE's latest. Cleared by the next readable row.
    held_since        TIMESTAMPTZ
);

-- Trackly's own logs, loaded file by file (source_file says which file a row came from).
CREATE TABLE IF NOT EXISTS trackly.clicks (
    click_id     VARCHAR NOT NULL,
    link_id      VARCHAR,
    message_id   VARCHAR,
    network_id   VARCHAR,
    offer_id     BIGINT,
    clicked_at   TIMESTAMPTZ NOT NULL,
    ip           VARCHAR,
    user_agent   VARCHAR,
    source_file  VARCHAR NOT NULL,
    source_row   BIGINT,             -- 0-based position in source_file: with it, rows have a total order
    affiliate_id BIGINT              -- the TUNE affiliate account the tracking link was built for (NULL: not logged)
);
CREATE TABLE IF NOT EXISTS trackly.messages (
    message_id      VARCHAR NOT NULL,
    creative_id     BIGINT,
    campaign_id     BIGINT,
    contact_id      BIGINT,
    sending_list_id BIGINT,
    sent_at         TIMESTAMPTZ NOT NULL,
    source_file     VARCHAR NOT NULL,
    source_row      BIGINT
);

-- Every conversion, resolved to the click and message that earned it (or visibly not).
CREATE TABLE IF NOT EXISTS analytics.attributed_conversions (
    network                 VARCHAR NOT NULL,
    conversion_id           BIGINT NOT NULL,
    converted_at            TIMESTAMPTZ NOT NULL,
    status                  VARCHAR NOT NULL,
    is_adjustment           BOOLEAN NOT NULL,
    payout                  DECIMAL(18, 5) NOT NULL,
    currency                VARCHAR,
    reporting_currency      VARCHAR NOT NULL,
    fx_rate                 DECIMAL(18, 8),     -- NULL when no rate for that day: see check fx_rates_complete
    payout_reporting        DECIMAL(18, 5),
    offer_id                BIGINT NOT NULL,
    click_id                VARCHAR,
    message_id              VARCHAR,
    creative_id             BIGINT,
    campaign_id             BIGINT,
    attribution_method      VARCHAR NOT NULL,   -- ad_id_click | sub_id_click | sub_id_message | unattributed
    unattributed_reason     VARCHAR,            -- why an unattributed conversion matched nothing
    looked_at_ad_id         VARCHAR,            -- the raw values attribution looked at
    looked_at_field         VARCHAR,
    looked_at_sub_id        VARCHAR,
    attribution_window_days INTEGER NOT NULL,
    attributed_at           TIMESTAMPTZ NOT NULL
);

-- Rollups by UTC day. Money in the reporting currency.
CREATE TABLE IF NOT EXISTS analytics.revenue_by_message (
    day             DATE NOT NULL,
    message_id      VARCHAR NOT NULL,
    creative_id     BIGINT,
    campaign_id     BIGINT,
    clicks          BIGINT NOT NULL,
    conversions     BIGINT NOT NULL,
    approved        BIGINT NOT NULL,
    pending         BIGINT NOT NULL,
    rejected        BIGINT NOT NULL,
    adjustments     BIGINT NOT NULL,
    revenue         DECIMAL(18, 5) NOT NULL,
    pending_revenue DECIMAL(18, 5) NOT NULL,
    rejected_payout DECIMAL(18, 5) NOT NULL
);
CREATE TABLE IF NOT EXISTS analytics.revenue_by_creative (
    day              DATE NOT NULL,
    creative_id      BIGINT NOT NULL,
    sends            BIGINT NOT NULL,
    clicks           BIGINT NOT NULL,
    conversions      BIGINT NOT NULL,
    approved         BIGINT NOT NULL,
    pending          BIGINT NOT NULL,
    rejected         BIGINT NOT NULL,
    adjustments      BIGINT NOT NULL,
    revenue          DECIMAL(18, 5) NOT NULL,
    pending_revenue  DECIMAL(18, 5) NOT NULL,
    rejected_payout  DECIMAL(18, 5) NOT NULL,
    epc              DECIMAL(18, 5),     -- revenue per click
    conversion_rate  DOUBLE,             -- conversions per click
    revenue_per_send DECIMAL(18, 5)
);
CREATE TABLE IF NOT EXISTS analytics.revenue_by_offer (
    day             DATE NOT NULL,
    network         VARCHAR NOT NULL,
    offer_id        BIGINT NOT NULL,
    offer_name      VARCHAR,
    clicks          BIGINT NOT NULL,
    conversions     BIGINT NOT NULL,
    approved        BIGINT NOT NULL,
    pending         BIGINT NOT NULL,
    rejected        BIGINT NOT NULL,
    adjustments     BIGINT NOT NULL,
    revenue         DECIMAL(18, 5) NOT NULL,
    pending_revenue DECIMAL(18, 5) NOT NULL,
    rejected_payout DECIMAL(18, 5) NOT NULL,
    epc             DECIMAL(18, 5),
    conversion_rate DOUBLE
);

-- The integration log: one row per sync attempt. Errors are redacted before they get here.
CREATE TABLE IF NOT EXISTS ops.sync_log (
    sync_id      VARCHAR NOT NULL,
    network      VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,       -- conversions | offers | attribution | rollups
    window_start TIMESTAMPTZ,
    window_end   TIMESTAMPTZ,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ NOT NULL,
    duration_s   DOUBLE NOT NULL,
    pages        INTEGER NOT NULL,
    rows         BIGINT NOT NULL,
    quarantined  BIGINT NOT NULL,
    status       VARCHAR NOT NULL,       -- running | success | failed | interrupted
    error        VARCHAR,
    held         BIGINT,                 -- conversions: stored ones TUNE returned unreadable, kept as they were
    present_at   TIMESTAMPTZ             -- conversions, attribution: the pipeline's clock when the attempt started
);
-- API rows we could not store as they came, with the reason. Never silently dropped.
CREATE TABLE IF NOT EXISTS ops.quarantine (
    sync_id     VARCHAR NOT NULL,
    network     VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    record_id   VARCHAR,
    reason      VARCHAR NOT NULL,
    raw_json    VARCHAR NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
-- Which Trackly log files are loaded, so each hourly run reads only new or changed files.
CREATE TABLE IF NOT EXISTS ops.loaded_files (
    kind        VARCHAR NOT NULL,       -- clicks | messages
    path        VARCHAR NOT NULL,
    size_bytes  BIGINT NOT NULL,
    modified_ns BIGINT NOT NULL,
    rows        BIGINT NOT NULL,
    loaded_at   TIMESTAMPTZ NOT NULL
);
-- Days whose rollups must be recomputed: written by attribution and log loads, consumed by rollups.
CREATE TABLE IF NOT EXISTS ops.dirty_days (
    day    DATE NOT NULL,
    reason VARCHAR NOT NULL
);
-- Reference rates: 1 unit of currency = rate units of the reporting currency, on that day.
CREATE TABLE IF NOT EXISTS reference.fx_rates (
    day      DATE NOT NULL,
    currency VARCHAR NOT NULL,
    rate     DECIMAL(18, 8) NOT NULL
);
-- The configured networks, as of the last run (written from trackly.yaml).
CREATE TABLE IF NOT EXISTS ops.networks (
    network          VARCHAR NOT NULL,
    network_id       VARCHAR NOT NULL,
    message_id_field VARCHAR NOT NULL,
    default_currency VARCHAR,
    affiliate_id     BIGINT              -- our affiliate id in the network: tells apart keys sharing a network_id
);

-- Whose conversions a network's tables hold: the configured affiliate_id they were last cleared for
-- (conversions_forget_other_affiliates.sql). One row per network.
CREATE TABLE IF NOT EXISTS ops.network_affiliates (
    network      VARCHAR NOT NULL,
    affiliate_id BIGINT NOT NULL,
    since        TIMESTAMPTZ NOT NULL
);
