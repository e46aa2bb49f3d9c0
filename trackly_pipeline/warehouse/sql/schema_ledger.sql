-- The status ledger: every conversion again each time its content changes, append-only.
CREATE TABLE IF NOT EXISTS tune.conversion_changes (
    network         VARCHAR NOT NULL,
    conversion_id   BIGINT NOT NULL,
    seen_at         TIMESTAMPTZ NOT NULL,   -- when the sweep that saw the change ran
    sync_id         VARCHAR NOT NULL,
    change          VARCHAR NOT NULL,       -- new | changed | vanished | other_affiliate | quarantined
    converted_at    TIMESTAMPTZ NOT NULL,
    offer_id        BIGINT NOT NULL,
    status          VARCHAR,                -- the state seen (vanished, quarantined: the last state before)
    previous_status VARCHAR,
    payout          DECIMAL(18, 5),
    revenue         DECIMAL(18, 5),
    sale_amount     DECIMAL(18, 5),
    currency        VARCHAR
);

-- The conversions as we knew them at a moment:
-- `SELECT * FROM tune.conversions_as_of(TIMESTAMPTZ '2026-11-20 23:59:59+00')`.
-- A `quarantined` row (TUNE sent the conversion unreadable; we kept its last good state) is no new
-- state: it is left out before the latest row is picked (QUALIFY runs before a filter on its result).
-- as_of reads as a column type to sqlfluff's DuckDB parser: CP05 would upper-case it.
-- noqa: disable=CP05
CREATE OR REPLACE MACRO tune.conversions_as_of(as_of) AS TABLE
SELECT network, conversion_id, converted_at, offer_id, status, payout, revenue, sale_amount, currency, seen_at
FROM tune.conversion_changes
WHERE seen_at <= as_of AND change <> 'quarantined'
QUALIFY row_number() OVER (PARTITION BY network, conversion_id ORDER BY seen_at DESC) = 1
    AND change NOT IN ('vanished', 'other_affiliate');
-- noqa: enable=CP05
