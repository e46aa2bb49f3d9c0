-- An empty staging table for a sweep's pages: the staged columns (registered as no_pages, Arrow's
-- empty table of tune.conversion_schema.STAGE_SCHEMA) and seq, the row's arrival order.
CREATE OR REPLACE TEMP TABLE staged_conversions AS
SELECT
    *,
    NULL::BIGINT AS seq
FROM no_pages;
