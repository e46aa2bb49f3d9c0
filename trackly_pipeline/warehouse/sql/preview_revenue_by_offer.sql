-- Preview of analytics.revenue_by_offer in its materialization: the 10 offers (per network) with the
-- most revenue over every day stored.
SELECT network, offer_id, any_value(offer_name) AS offer, sum(clicks) AS clicks,
       sum(conversions) AS conversions, sum(revenue) AS revenue
FROM analytics.revenue_by_offer GROUP BY ALL ORDER BY revenue DESC LIMIT 10;
