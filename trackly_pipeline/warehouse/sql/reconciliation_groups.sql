-- How many (day, offer, currency) groups a network's reconciliation compared.
SELECT count(*)
FROM ops.reconciliation
WHERE network = $network;
