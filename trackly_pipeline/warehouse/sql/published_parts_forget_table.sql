-- After a schema upgrade added columns to $table: forget its published month files, so the next
-- publish writes every month again with the new columns (publish.py republishes a table it has
-- no parts for).
DELETE FROM ops.published_parts
WHERE table_name = $table;
