-- The demo's comparison with the sandbox's ground truth: revenue per network and offer, to the cent.
SELECT network, offer_id, round(sum(revenue), 2) FROM analytics.revenue_by_offer GROUP BY ALL;
