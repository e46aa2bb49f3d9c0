-- The demo's comparison with the sandbox's ground truth: revenue per message, to the cent.
SELECT message_id, round(sum(revenue), 2) FROM analytics.revenue_by_message GROUP BY ALL;
