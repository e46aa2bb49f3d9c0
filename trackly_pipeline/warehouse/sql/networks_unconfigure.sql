-- A renamed or forgotten key leaves the configured networks (ops.networks is rewritten from
-- trackly.yaml by every run).
DELETE FROM ops.networks
WHERE network = $network;
