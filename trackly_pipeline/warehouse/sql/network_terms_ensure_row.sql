-- A network's row of terms, all NULL until a sweep or an attribution records its own.
INSERT INTO ops.network_terms (network)
SELECT $network
WHERE NOT EXISTS (SELECT 1 FROM ops.network_terms WHERE network = $network);
