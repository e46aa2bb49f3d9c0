-- Check no_stale_conversions: how many of a network's conversions are held at their last good state
-- (held_since set); the check passes when none is.
SELECT count(*) FROM tune.conversions WHERE network = $network AND held_since IS NOT NULL;
