-- ops.networks holds the configured networks as of the last run: emptied, then written again
-- from trackly.yaml (networks_add_configured.sql) in the same transaction.
DELETE FROM ops.networks;
