-- Check unattributed_share, run outside a partitioned run: its 7 days end at the hour after the
-- network's latest attributed conversion (adjustments aside, as in the share itself).
SELECT max(converted_at) FROM analytics.attributed_conversions
WHERE network = $network AND NOT is_adjustment;
