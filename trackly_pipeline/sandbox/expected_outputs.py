"""What the pipeline should produce from a sandbox world, computed from the world's ground truth
with plain pandas and Decimal: independent of the pipeline's SQL, so tests and the demo can hold
the pipeline's tables against it."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from . import attribution_oracle
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
    """Ground-truth conversions with converted_at in [start, end), with payout in the reporting currency.
    converted_at is the instant the pipeline stores (the truth's stored_at: a time a fall-back
    repeats is stored as its later instant), so windows, days and attribution windows match its own."""
    truth = world.ground_truth_conversions()
    truth["converted_at"] = truth["stored_at"]
    truth = truth[(truth.converted_at >= pd.Timestamp(start)) & (truth.converted_at < pd.Timestamp(end))].copy()
    if network_keys is not None:
        truth = truth[truth.network_key.isin(network_keys)]

    def in_reporting(row) -> Decimal | None:
        rate = (
            Decimal(1) if row.currency == reporting_currency else fx_rates.get((row.converted_at.date(), row.currency))
        )
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


def trackly_log(world: SandboxWorld) -> attribution_oracle.TracklyLog:
    """The world's click and message logs as the oracle reads them, each row at the file and row
    write_trackly_logs puts it (the rule's tie-break)."""
    clicks = world.clicks_frame(with_positions=True)
    sends = world.messages_frame(with_positions=True)
    return attribution_oracle.TracklyLog(
        (
            attribution_oracle.LoggedClick(
                r.click_id,
                None if pd.isna(r.message_id) else r.message_id,
                r.clicked_at.to_pydatetime(),
                r.source_file,
                r.source_row,
                r.network_id,
                int(r.offer_id),
            )
            for r in clicks.itertuples()
        ),
        (
            attribution_oracle.LoggedSend(
                r.message_id, r.creative_id, r.campaign_id, r.sent_at.to_pydatetime(), r.source_file, r.source_row
            )
            for r in sends.itertuples()
        ),
    )


def expected_attribution(
    world: SandboxWorld,
    conversions: pd.DataFrame,
    window_days: dict[str, int] | None = None,
    offer_window_days: dict[tuple[str, int], int] | None = None,
    clock_skew_s: int = 300,
) -> pd.DataFrame:
    """Trackly's written rule (attribution_oracle.attribute) applied to ground-truth conversions:
    per network key, its window (default 7 days) and per (network key, offer id) windows. Adds
    expected_method, expected_click_id, expected_message_id, expected_reason and
    expected_creative_id."""
    log = trackly_log(world)
    field_of = {n.key: n.message_id_field for n in world.accounts}
    results = []
    for row in conversions.itertuples():
        default = (window_days or {}).get(row.network_key, 7)
        offer_windows = {
            offer: days for (key, offer), days in (offer_window_days or {}).items() if key == row.network_key
        }
        result = attribution_oracle.attribute(
            log,
            converted_at=row.converted_at.to_pydatetime(),
            ad_id=row.ad_id,
            sub_id=getattr(row, field_of[row.network_key]),
            window_days=offer_windows.get(int(row.offer_id), default),
            offer_id=int(row.offer_id),
            network_id=row.network_id,
            clock_skew=timedelta(seconds=clock_skew_s),
        )
        results.append(attribution_oracle.with_creative(log, result))

    out = conversions.copy()
    columns = {
        "expected_method": "method",
        "expected_click_id": "click_id",
        "expected_message_id": "message_id",
        "expected_reason": "reason",
        "expected_creative_id": "creative_id",
    }
    for name, attribute in columns.items():
        out[name] = pd.Series([getattr(result, attribute) for result in results], index=out.index, dtype=object)
    return out
