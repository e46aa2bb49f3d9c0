-- The demo's report: the 10 offers (per network) with the most revenue, with pending revenue and
-- earnings per click.
SELECT network, offer_id, any_value(offer_name) AS offer, sum(clicks) AS clicks,
       sum(conversions) AS conversions, round(sum(revenue), 2) AS revenue,
       round(sum(pending_revenue), 2) AS pending,
       round(sum(revenue) / nullif(sum(clicks), 0), 2) AS epc
FROM analytics.revenue_by_offer GROUP BY ALL ORDER BY revenue DESC LIMIT 10;
