-- A network's earliest stored conversion time once read again in $new_zone (its wall time in
-- $old_zone), as conversions_retime.sql will read it: where a re-sweep must start.
SELECT min(timezone($new_zone, timezone($old_zone, converted_at)))
FROM tune.conversions
WHERE network = $network;
