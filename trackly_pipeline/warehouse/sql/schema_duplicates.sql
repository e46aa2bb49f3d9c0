-- Rows `trackly network dedupe` removed (conversions_dedupe.sql): a conversion stored more than once
-- keeps one row; each other row is here, whole, as JSON.
CREATE TABLE IF NOT EXISTS ops.removed_duplicates (
    removed_at    TIMESTAMPTZ NOT NULL,
    network       VARCHAR NOT NULL,
    table_name    VARCHAR NOT NULL,   -- tune.conversions | analytics.attributed_conversions
    conversion_id BIGINT NOT NULL,
    removed_row   VARCHAR NOT NULL    -- the removed row, every column, as a JSON object
);
