-- A small table (or an empty partitioned one) in the analysts' copy: copied whole. Template:
-- relation (a quoted schema.table found by catalog_tables.sql) and catalog (the warehouse's).
CREATE TABLE published.{relation} AS
FROM {catalog}.{relation};
