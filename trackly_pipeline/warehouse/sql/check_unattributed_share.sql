-- Check unattributed_share: of a network's conversions converted in [$start, $end), adjustments
-- aside, how many resolved to no click or message, and how many there are.
SELECT count(*) FILTER (WHERE attribution_method = 'unattributed'), count(*)
FROM analytics.attributed_conversions WHERE network = $network AND NOT is_adjustment
AND converted_at >= $start AND converted_at < $end;
