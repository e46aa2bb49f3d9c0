-- A network's earliest and latest stored conversion times (NULL, NULL when it has none): a
-- re-sweep after a change of terms must cover them all.
SELECT min(converted_at), max(converted_at)
FROM tune.conversions
WHERE network = $network;
