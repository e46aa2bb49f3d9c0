-- How many stored conversions conversions_retime.sql moved (its temp table retimed).
SELECT count(*)
FROM retimed;
