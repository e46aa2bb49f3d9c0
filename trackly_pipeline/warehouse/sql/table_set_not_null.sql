-- A schema upgrade's new NOT NULL column, added without the constraint (DuckDB 1.5 adds no column
-- with one), gets it here: refused (a constraint error) when existing rows hold NULL in it, as a
-- column without a DEFAULT leaves them. Template: table_name and column_name come from our own
-- schema files, never from the data.
ALTER TABLE {table_name} ALTER COLUMN {column_name} SET NOT NULL;
