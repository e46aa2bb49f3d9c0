-- The month of the analysts' copy that holds newly quarantined rows ($at) is published again.
INSERT INTO ops.publish_pending
VALUES ('ops.quarantine', date_trunc('month', $at)::DATE);
