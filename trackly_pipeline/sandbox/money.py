"""Money is kept in integer cents; TUNE renders it with five decimals ("12.34000")."""

from __future__ import annotations

from decimal import Decimal


def tune_amount(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{frac:02d}000"


def decimal_amount(cents: int) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)
