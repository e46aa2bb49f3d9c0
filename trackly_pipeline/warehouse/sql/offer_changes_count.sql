-- How many offer changes are recorded: the difference before and after an offer sync is what it
-- changed.
SELECT count(*)
FROM tune.offer_changes;
