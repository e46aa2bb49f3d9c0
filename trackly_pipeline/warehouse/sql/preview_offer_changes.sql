-- Preview in an offer sync's materialization: the first 20 changes it recorded (sync $sync_id) in
-- tune.offer_changes.
SELECT offer_id, change, field, old_value, new_value, modified_at FROM tune.offer_changes
WHERE sync_id = $sync_id ORDER BY offer_id, change, field LIMIT 20;
