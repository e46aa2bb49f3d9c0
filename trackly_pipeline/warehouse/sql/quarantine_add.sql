-- One API row that could not be stored as it came, with the reason and the raw row (JSON).
-- Positional parameters ($1..): run once per row (executemany).
INSERT INTO ops.quarantine
VALUES ($1, $2, $3, $4, $5, $6, $7);
