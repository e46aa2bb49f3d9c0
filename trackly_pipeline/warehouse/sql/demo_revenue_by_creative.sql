-- The demo's report: the 10 creatives with the most revenue, with revenue per send.
SELECT creative_id, sum(sends) AS sends, sum(clicks) AS clicks, sum(conversions) AS conversions,
       round(sum(revenue), 2) AS revenue, round(sum(revenue) / nullif(sum(sends), 0), 4) AS revenue_per_send
FROM analytics.revenue_by_creative GROUP BY ALL ORDER BY revenue DESC LIMIT 10;
