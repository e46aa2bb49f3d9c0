-- Register the keys a warehouse written before ops.stored_networks holds rows under ($keys, staged
-- as stored_keys), with the identity the last configuration gave them (ops.networks), else the
-- affiliate its conversions were last cleared for (ops.network_affiliates), else unknown.
CREATE OR REPLACE TEMP TABLE stored_keys AS
SELECT unnest($keys::VARCHAR[]) AS network;

INSERT INTO ops.stored_networks
SELECT k.network, n.network_id, coalesce(n.affiliate_id, a.affiliate_id), $at
FROM stored_keys AS k
LEFT JOIN (SELECT * FROM ops.networks QUALIFY row_number() OVER (PARTITION BY network) = 1) AS n USING (network)
LEFT JOIN (SELECT * FROM ops.network_affiliates
           QUALIFY row_number() OVER (PARTITION BY network ORDER BY since DESC) = 1) AS a USING (network)
WHERE k.network NOT IN (SELECT network FROM ops.stored_networks);
