-- Publishing the analysts' copy by month (warehouse/publish.py).
-- Months of the big tables written since the copy was last published: each writer adds the months
-- it touched, and publishing rewrites exactly those.
CREATE TABLE IF NOT EXISTS ops.publish_pending (
    table_name VARCHAR NOT NULL,   -- schema.table
    month      DATE NOT NULL       -- first day of the UTC month
);

-- The Parquet file the analysts' copy reads for each table and month (relative to its .parts folder).
CREATE TABLE IF NOT EXISTS ops.published_parts (
    table_name   VARCHAR NOT NULL,
    month        DATE NOT NULL,
    file         VARCHAR NOT NULL,
    published_at TIMESTAMPTZ NOT NULL
);
