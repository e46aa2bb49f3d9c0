-- A schema of the warehouse in the analysts' copy being written (attached as published).
-- Template: schema, quoted, found by catalog_tables.sql.
CREATE SCHEMA IF NOT EXISTS published.{schema};
