-- The demo's comparison with the sandbox's ground truth: revenue per creative, to the cent.
SELECT creative_id, round(sum(revenue), 2) FROM analytics.revenue_by_creative GROUP BY ALL;
