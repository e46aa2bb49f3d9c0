"""reference.fx_rates: the user's exchange-rate CSV, checked row by row."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from trackly_pipeline.warehouse.schema import sql_text


def load_fx_rates(conn: duckdb.DuckDBPyConnection, path: Path | None) -> int:
    """Replace reference.fx_rates with the user's CSV (date,currency,rate). Returns the row count.

    The file is checked row by row: a bad date, currency or rate, or two different rates for the
    same day and currency, fails with the line number instead of loading a guess."""
    rows: dict[tuple[date, str], Decimal] = {}
    if path is not None:
        if not path.is_file():
            # Loading no rates would leave every converted amount NULL: say why instead.
            raise FileNotFoundError(f"fx_rates: no such file: {path} (configured in trackly.yaml)")
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"date", "currency", "rate"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            for line, record in enumerate(reader, start=2):
                try:
                    day = date.fromisoformat(record["date"].strip())
                    currency = record["currency"].strip().upper()
                    rate = Decimal(record["rate"].strip())
                except (ValueError, InvalidOperation, AttributeError):
                    raise ValueError(f"{path}:{line}: not a valid date,currency,rate row: {record}") from None
                if len(currency) != 3 or not currency.isalpha() or not rate.is_finite() or rate <= 0:
                    raise ValueError(f"{path}:{line}: not a valid date,currency,rate row: {record}")
                if rows.setdefault((day, currency), rate) != rate:
                    raise ValueError(f"{path}:{line}: a second, different rate for {currency} on {day}")
    conn.execute(sql_text("fx_rates_clear.sql"))
    if rows:  # DuckDB refuses an executemany without rows (a file with its header only)
        conn.executemany(sql_text("fx_rates_add.sql"), [(d, c, r) for (d, c), r in sorted(rows.items())])
    return len(rows)
