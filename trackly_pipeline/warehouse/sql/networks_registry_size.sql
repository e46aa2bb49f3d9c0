-- How many keys the registry holds: none means a warehouse written before it, to be seeded.
SELECT count(*)
FROM ops.stored_networks;
