-- The copy is in place: a month it published again is no longer read from its former file.
DELETE FROM ops.published_parts
WHERE table_name = $table AND month = $month;
