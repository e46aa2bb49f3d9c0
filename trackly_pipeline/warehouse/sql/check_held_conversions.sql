-- Check no_stale_conversions: a network's conversions held at their last good state (held_since set:
-- TUNE sent them back unreadable, see conversions_quarantine_staged.sql), oldest first, each with the
-- latest reason ops.quarantine recorded for it. At most $limit rows; check_held_count.sql counts them all.
WITH held AS (
    SELECT conversion_id, held_since, converted_at, status, payout, currency
    FROM tune.conversions WHERE network = $network AND held_since IS NOT NULL
),
reasons AS (
    -- record_id is Stat.id as sent: canonical digits but for a rare padded or signed one
    SELECT TRY_CAST(trim(record_id) AS BIGINT) AS conversion_id, reason, received_at
    FROM ops.quarantine
    WHERE network = $network AND kind = 'conversion'
      AND regexp_full_match(trim(record_id), '[+-]?[0-9]+')
      AND TRY_CAST(trim(record_id) AS BIGINT) IN (SELECT conversion_id FROM held)
    QUALIFY row_number() OVER (PARTITION BY TRY_CAST(trim(record_id) AS BIGINT)
                               ORDER BY received_at DESC) = 1
)
SELECT h.conversion_id, h.held_since, r.received_at AS last_unreadable_at, r.reason,
       h.converted_at, h.status, h.payout, h.currency
FROM held AS h LEFT JOIN reasons AS r USING (conversion_id)
ORDER BY h.held_since, h.conversion_id
LIMIT $limit;
