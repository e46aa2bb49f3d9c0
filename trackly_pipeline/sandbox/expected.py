"""What the pipeline should produce from a sandbox world, computed from the world's ground truth
with plain pandas and Decimal: independent of the pipeline's SQL, so tests and the demo can hold
the pipeline's tables against it."""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from .world import SandboxWorld

CENT = Decimal("0.01")
_STORED = Decimal("0.00001")  # the warehouse keeps money as DECIMAL(18, 5)


def read_fx_rates(path: str | Path) -> dict[tuple[date, str], Decimal]:
    with Path(path).open(newline="", encoding="utf-8") as handle:
        return {(date.fromisoformat(r["date"]), r["currency"]): Decimal(r["rate"]) for r in csv.DictReader(handle)}


def expected_conversions(
    world: SandboxWorld,
    start: datetime,
    end: datetime,
    fx_rates: dict[tuple[date, str], Decimal],
    reporting_currency: str = "USD",
    network_keys: set[str] | None = None,
) -> pd.DataFrame:
    """Ground-truth conversions with converted_at in [start, end), with payout in the reporting currency."""
    truth = world.ground_truth_conversions()
    truth = truth[(truth.converted_at >= pd.Timestamp(start)) & (truth.converted_at < pd.Timestamp(end))].copy()
    if network_keys is not None:
        truth = truth[truth.network_key.isin(network_keys)]

    def in_reporting(row) -> Decimal | None:
        rate = Decimal(1) if row.currency == reporting_currency else fx_rates.get((row.converted_at.date(), row.currency))
        return None if rate is None else (Decimal(row.payout) * rate).quantize(_STORED, rounding=ROUND_HALF_UP)

    truth["payout_reporting"] = [in_reporting(row) for row in truth.itertuples()]
    return truth


def expected_revenue(conversions: pd.DataFrame, by: list[str]) -> dict[tuple, Decimal]:
    """Approved revenue (adjustments with their sign) per group, to the cent."""
    approved = conversions[conversions.status == "approved"].dropna(subset=by)
    totals: dict[tuple, Decimal] = {}
    for key, group in approved.groupby(by):
        key = key if isinstance(key, tuple) else (key,)
        totals[tuple(_plain(k) for k in key)] = sum(group.payout_reporting, Decimal(0)).quantize(CENT, ROUND_HALF_UP)
    return totals


def _plain(value):
    return int(value) if hasattr(value, "item") and not isinstance(value, str) else value
