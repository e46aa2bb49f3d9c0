-- Network identity (warehouse/networks.py). Idempotent: run by every writing connection.
CREATE SCHEMA IF NOT EXISTS ops;

-- Every network key the warehouse has stored rows under, with the TUNE account it stored them for.
-- Written with a key's first rows, never from trackly.yaml: once a key leaves the config (renamed,
-- removed) its rows are still known to be that account's. Changed only by `trackly network rename`
-- and `trackly network forget`.
CREATE TABLE IF NOT EXISTS ops.stored_networks (
    network       VARCHAR NOT NULL,
    network_id    VARCHAR,                -- NULL: not known (rows found in a warehouse written before this table)
    affiliate_id  BIGINT,                 -- NULL: not known, likewise
    registered_at TIMESTAMPTZ NOT NULL
);
