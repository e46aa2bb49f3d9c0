-- How the conversions of the window just attributed (temp table window_conversions,
-- attribute_window.sql) were attributed: count per method.
SELECT attribution_method, count(*)
FROM analytics.attributed_conversions
WHERE network = $network
    AND conversion_id IN (SELECT conversion_id FROM window_conversions)
GROUP BY 1
ORDER BY 1;
