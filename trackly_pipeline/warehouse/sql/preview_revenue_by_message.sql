-- Preview of analytics.revenue_by_message in its materialization: the 10 messages with the most
-- revenue over every day stored.
SELECT message_id, creative_id, sum(clicks) AS clicks, sum(conversions) AS conversions, sum(revenue) AS revenue
FROM analytics.revenue_by_message GROUP BY ALL ORDER BY revenue DESC LIMIT 10;
