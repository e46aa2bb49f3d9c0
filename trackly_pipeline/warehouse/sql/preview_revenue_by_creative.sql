-- Preview of analytics.revenue_by_creative in its materialization: the 10 creatives with the most
-- revenue over every day stored.
SELECT creative_id, sum(sends) AS sends, sum(clicks) AS clicks, sum(conversions) AS conversions,
       sum(revenue) AS revenue
FROM analytics.revenue_by_creative GROUP BY ALL ORDER BY revenue DESC LIMIT 10;
