-- Diagnostics: offer-sync diffs, payout mismatches, reconciliation with TUNE's own totals.
-- Documented for analysts in docs/diagnostics.md. Idempotent: run by every writing connection.
CREATE SCHEMA IF NOT EXISTS tune;
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE SCHEMA IF NOT EXISTS ops;

-- What each offer sync changed, per offer and field (written in the offer sync's transaction).
CREATE TABLE IF NOT EXISTS tune.offer_changes (
    network     VARCHAR NOT NULL,
    offer_id    BIGINT NOT NULL,
    change      VARCHAR NOT NULL,       -- changed | added | removed
    field       VARCHAR,                -- changed: payout | status | offer_url | name | payout_type | currency
    old_value   VARCHAR,                -- before this sync (payout as '12.50000')
    new_value   VARCHAR,                -- as this sync found it
    modified_at TIMESTAMPTZ,            -- TUNE Offer.modified of the new version (removed: of the last one we had)
    sync_id     VARCHAR,                -- ops.sync_log.sync_id of the offer sync
    synced_at   TIMESTAMPTZ NOT NULL
);

-- Offers whose conversions were paid differently from the offer's default payout, with a likely
-- cause. Rebuilt whole by the analytics/payout_mismatches asset.
CREATE TABLE IF NOT EXISTS analytics.payout_mismatches (
    network             VARCHAR NOT NULL,
    offer_id            BIGINT NOT NULL,
    offer_name          VARCHAR,
    offer_status        VARCHAR,
    offer_payout        DECIMAL(18, 5),
    payout_type         VARCHAR,
    offer_currency      VARCHAR,
    conversion_currency VARCHAR,
    likely_cause        VARCHAR NOT NULL,   -- currency | payout type | stale offer sync | custom payout per affiliate
    conversions         BIGINT NOT NULL,
    min_paid            DECIMAL(18, 5),
    max_paid            DECIMAL(18, 5),
    typical_paid        DECIMAL(18, 5),
    first_converted_at  TIMESTAMPTZ,
    last_converted_at   TIMESTAMPTZ,
    computed_at         TIMESTAMPTZ NOT NULL
);

-- The latest reconciliation of each network with Report::getStats, per network-local day, offer
-- and currency (replaced per network by the reconciles_with_tune check).
CREATE TABLE IF NOT EXISTS ops.reconciliation (
    network           VARCHAR NOT NULL,
    day               DATE NOT NULL,      -- network-local date (TUNE's Stat.date)
    offer_id          BIGINT NOT NULL,
    currency          VARCHAR,
    tune_conversions  BIGINT NOT NULL,
    our_conversions   BIGINT NOT NULL,
    tune_payout       DECIMAL(18, 5) NOT NULL,
    our_payout        DECIMAL(18, 5) NOT NULL,
    payout_difference DECIMAL(18, 5) NOT NULL,  -- ours - TUNE's
    matches           BOOLEAN NOT NULL,
    timezone          VARCHAR NOT NULL,
    checked_at        TIMESTAMPTZ NOT NULL
);
