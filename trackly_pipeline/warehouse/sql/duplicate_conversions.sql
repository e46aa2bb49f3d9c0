-- Conversions stored more than once: one row per (table, network, conversion_id) with its number of
-- copies, in the tables keyed by (network, conversion_id) named in $tables (a table not named is not
-- scanned). One network ($network), or every network stored ($every_network: what the analysts'
-- copy would take). The sweeps replace by
-- conversion id, so a copy they do not reach (older than every window, written by an older version
-- or by hand) stays until `trackly network dedupe` (conversions_dedupe.sql) removes it.
CREATE OR REPLACE TEMP TABLE duplicate_conversions AS
SELECT 'tune.conversions' AS table_name, network, conversion_id, count(*) AS copies
FROM tune.conversions
WHERE list_contains($tables, 'tune.conversions') AND ($every_network OR network = $network)
GROUP BY network, conversion_id
HAVING count(*) > 1
UNION ALL
SELECT 'analytics.attributed_conversions', network, conversion_id, count(*)
FROM analytics.attributed_conversions
WHERE list_contains($tables, 'analytics.attributed_conversions') AND ($every_network OR network = $network)
GROUP BY network, conversion_id
HAVING count(*) > 1;
