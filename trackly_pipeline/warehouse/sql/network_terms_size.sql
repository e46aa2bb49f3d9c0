-- How many networks have recorded terms: none means a warehouse written before ops.network_terms,
-- to be seeded (network_terms_seed.sql).
SELECT count(*)
FROM ops.network_terms;
