-- reference.fx_rates is the user's exchange-rate CSV as it is now: emptied, then loaded again
-- (fx_rates_add.sql) in the same transaction.
DELETE FROM reference.fx_rates;
