-- Record the terms of the networks a warehouse written before ops.network_terms holds conversions
-- of, so a field or zone changed together with the upgrade is detected: the field its attribution
-- used (ops.networks, written by every attribution, not yet rewritten by this version's), the zone
-- its newest reconciliation read TUNE's days in (none: the current config is taken, as before).
INSERT INTO ops.network_terms (network, swept_timezone, swept_message_id_field, attributed_message_id_field,
                               attributed_timezone)
SELECT c.network, z.timezone, n.message_id_field, n.message_id_field, z.timezone
FROM (SELECT DISTINCT network FROM tune.conversions) AS c
LEFT JOIN (SELECT network, message_id_field FROM ops.networks
           QUALIFY row_number() OVER (PARTITION BY network) = 1) AS n USING (network)
LEFT JOIN (SELECT network, timezone FROM ops.reconciliation
           QUALIFY row_number() OVER (PARTITION BY network ORDER BY checked_at DESC) = 1) AS z USING (network)
WHERE c.network NOT IN (SELECT network FROM ops.network_terms);
