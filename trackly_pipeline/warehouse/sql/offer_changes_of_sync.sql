-- How many offers an offer sync ($sync_id) recorded a change of in tune.offer_changes (its
-- materialization's changed_offers).
SELECT count(DISTINCT offer_id) FROM tune.offer_changes WHERE sync_id = $sync_id;
