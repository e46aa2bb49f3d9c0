-- How many conversions a sweep moved from one status to another ('pending -> approved': n).
SELECT
    previous_status || ' -> ' || status AS transition,
    count(*)
FROM tune.conversion_changes
WHERE sync_id = $sync_id
    AND change = 'changed'
    AND previous_status IS DISTINCT FROM status
GROUP BY 1
ORDER BY 1;
