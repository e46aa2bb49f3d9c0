-- How many stored conversions of another affiliate account were forgotten
-- (conversions_forget_other_affiliates.sql).
SELECT count(*)
FROM other_affiliates;
