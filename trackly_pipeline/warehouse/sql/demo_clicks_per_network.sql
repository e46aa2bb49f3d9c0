-- The demo's comparison with Trackly's click log: clicks counted in revenue_by_offer per network key
-- (each logged click of a configured account once, under that account's key).
SELECT network, sum(clicks) FROM analytics.revenue_by_offer GROUP BY network;
