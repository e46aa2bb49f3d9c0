-- One API row that could not be stored as it came, with the reason and the raw row (JSON).
-- Positional parameters: run once per row (executemany).
INSERT INTO ops.quarantine
VALUES (?, ?, ?, ?, ?, ?, ?);
