-- How many rows conversions_dedupe.sql removed from tune.conversions and from
-- analytics.attributed_conversions.
SELECT
    (SELECT count(*) FROM removed_conversions) AS conversions,
    (SELECT count(*) FROM removed_attributions) AS attributions;
