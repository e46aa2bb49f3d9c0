-- One checked exchange rate (date, currency, rate). Positional parameters ($1..): run once per row
-- (executemany).
INSERT INTO reference.fx_rates
VALUES ($1, $2, $3);
