-- One checked exchange rate (date, currency, rate). Positional parameters: run once per row
-- (executemany).
INSERT INTO reference.fx_rates
VALUES (?, ?, ?);
