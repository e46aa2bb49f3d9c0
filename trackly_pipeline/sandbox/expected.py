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


def expected_attribution(
    world: SandboxWorld,
    conversions: pd.DataFrame,
    window_days: dict[str, int] | None = None,
    offer_window_days: dict[tuple[str, int], int] | None = None,
) -> pd.DataFrame:
    """Trackly's documented rules, applied in plain Python to ground-truth conversions: ad_id as a
    click id, then the network's sub-id field as a click id, then as a message id (credited to the
    message's first click); each only within the attribution window (per network key, per
    (network key, offer id), default 7 days). Adds expected_method, expected_click_id,
    expected_message_id and expected_reason."""
    clicks = world.clicks_frame().sort_values(["clicked_at", "click_id"])
    click_at = dict(zip(clicks.click_id, clicks.clicked_at))
    click_message = dict(zip(clicks.click_id, clicks.message_id))
    first_click = clicks.drop_duplicates("message_id")
    message_first_click = dict(zip(first_click.message_id, first_click.click_id))
    messages = world.messages_frame().sort_values("sent_at").drop_duplicates("message_id")
    sent_at = dict(zip(messages.message_id, messages.sent_at))
    field_of = {n.key: n.message_id_field for n in world.networks}

    results = []
    for row in conversions.itertuples():
        days = (offer_window_days or {}).get((row.network_key, row.offer_id), (window_days or {}).get(row.network_key, 7))
        window = pd.Timedelta(days=days)
        sub = getattr(row, field_of[row.network_key])
        ad_id = row.ad_id

        def within(moment) -> bool:
            return row.converted_at - moment <= window

        found_any = False
        if ad_id in click_at:
            found_any = True
            if within(click_at[ad_id]):
                results.append(("ad_id_click", ad_id, click_message[ad_id], None))
                continue
        if sub in click_at:
            found_any = True
            if within(click_at[sub]):
                results.append(("sub_id_click", sub, click_message[sub], None))
                continue
        if sub is not None and len(sub) == 8 and sub in sent_at:
            found_any = True
            click = message_first_click.get(sub)
            if within(click_at[click] if click else sent_at[sub]):
                results.append(("sub_id_message", click, sub, None))
                continue
        if found_any:
            reason = "click outside the attribution window"
        elif not sub and ad_id:
            reason = "no click for the ad_id"
        elif not sub:
            reason = "sub-id empty"
        elif len(sub) != 8:
            reason = "sub-id not an 8-character id"
        else:
            reason = "message id unknown"
        results.append(("unattributed", None, None, reason))

    out = conversions.copy()
    names = ("expected_method", "expected_click_id", "expected_message_id", "expected_reason")
    for position, name in enumerate(names):
        out[name] = pd.Series([result[position] for result in results], index=out.index, dtype=object)
    return out
