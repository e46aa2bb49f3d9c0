-- The ids (as TUNE sent them) of the conversions a sweep quarantined: TUNE returned them, so none
-- of them is `vanished`.
SELECT DISTINCT record_id
FROM ops.quarantine
WHERE sync_id = $sync_id
    AND kind = 'conversion'
    AND record_id IS NOT NULL;
