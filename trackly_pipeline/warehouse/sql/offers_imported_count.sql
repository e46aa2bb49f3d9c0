-- How many of a network's offers are imported (their conversions are attributed).
SELECT count(*)
FROM tune.offers
WHERE network = $network AND imported;
