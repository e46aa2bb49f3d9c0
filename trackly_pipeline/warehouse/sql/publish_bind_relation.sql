-- Bind a table or view of the analysts' copy without reading a row: fails when it cannot be read.
-- Template: relation is a quoted name found by catalog_relations.sql.
SELECT *
FROM {relation}
LIMIT 0;
