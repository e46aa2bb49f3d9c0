"""Report::getStats: aggregated clicks, conversions and money per day/offer/currency, as of the clock.

Semantics (TUNE's stats count approved conversions only):
- `Stat.conversions`: approved conversions that are not adjustments; `Stat.payout`, `Stat.revenue`,
  `Stat.sale_amount` (and `Stat.approved_payout`, the same number): sums over approved conversions
  **including** adjustments (which may be negative). Pending/rejected conversions count nowhere
  except `Stat.pending_conversions` / `Stat.pending_payout` (pending, non-adjustment / pending payout).
- `Stat.clicks`: every Trackly click (repeat clicks included) on the network's offers with
  clicked_at <= clock, under the affiliate id its link was built with (the log's `affiliate_id`).
- `Stat.date` is the network-local date (of Stat.datetime, and of the click time in the network zone).
- State as of the sandbox clock: conversions later than the clock are invisible, statuses and payouts
  are those in force at the clock.
- A row exists for every group with at least one click or one visible conversion (any status), so
  rows with all-zero metrics occur (e.g. only rejected conversions that day).
- Money is summed in each conversion's own currency: group by `Stat.currency` to avoid mixing
  currencies (the `currency` conversion parameter of real TUNE is not modelled).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .conversions import APPROVED, PENDING
from .money import tune_amount
from .networks import SandboxNetwork
from .paging import limit_and_page, page_slice
from .params import as_list
from .report_api import MAX_LIMIT, REPORT_FIELDS, compare_values, parse_filter_value
from .wire import ApiError, page_envelope

DIMENSIONS = {  # wire name -> column of the fine-grained frame
    "Stat.date": "day",
    "Stat.offer_id": "offer_id",
    "Stat.currency": "currency",
    "Stat.affiliate_id": "affiliate_id",
    "Offer.name": "offer_name",
}
COUNTS = {"Stat.clicks": "clicks", "Stat.conversions": "conversions", "Stat.pending_conversions": "pending_conversions"}
AMOUNTS = {
    "Stat.payout": "payout",
    "Stat.approved_payout": "payout",
    "Stat.revenue": "revenue",
    "Stat.sale_amount": "sale_amount",
    "Stat.pending_payout": "pending_payout",
}
METRICS = {**COUNTS, **AMOUNTS}
FILTERABLE = ("Stat.date", "Stat.offer_id", "Stat.currency", "Stat.affiliate_id")


def _fine_frame(world, network: SandboxNetwork) -> pd.DataFrame:
    """One row per (local day, offer, currency, affiliate) with every metric (money in cents)."""
    clock = world.clock.epoch_seconds()
    table = world.conversions(network.network_id)
    rows = table.visible(clock)
    status, payout, revenue = table.state_at_clock(rows, clock)
    adjustment = table.is_adjustment[rows]
    approved, pending = status == APPROVED, status == PENDING
    local = table.local_seconds[rows]
    conversions = pd.DataFrame(
        {
            "day": local - local % 86_400,
            "affiliate_id": table.affiliate_id[rows],
            "offer_id": table.offer_id[rows],
            "currency": table.currency[rows].astype(object),
            "clicks": 0,
            "conversions": (approved & ~adjustment).astype(np.int64),
            "pending_conversions": (pending & ~adjustment).astype(np.int64),
            "payout": np.where(approved, payout, 0),
            "revenue": np.where(approved, revenue, 0),
            "sale_amount": np.where(approved, table.sale_cents[rows], 0),
            "pending_payout": np.where(pending, payout, 0),
        }
    )
    click_offer, click_day, click_affiliate = world.network_clicks(network.network_id, clock)
    currency_of = {o.offer_id: o.effective_currency(network) for o in world.offers(network.network_id)}
    clicks = pd.DataFrame(
        {  # Trackly's clicks: through our affiliate accounts' links
            "day": click_day,
            "affiliate_id": click_affiliate,
            "offer_id": click_offer,
            "currency": pd.Series(click_offer).map(currency_of).astype(object).to_numpy(),
            "clicks": 1,
        }
    )
    frame = pd.concat([conversions, clicks], ignore_index=True).fillna(0)
    frame = frame.groupby(["day", "offer_id", "currency", "affiliate_id"], as_index=False, sort=True).sum()
    names = {o.offer_id: o.model["name"] for o in world.offers(network.network_id)}
    frame["offer_name"] = frame["offer_id"].map(names).fillna("").astype(object)
    for column in (*COUNTS.values(), *AMOUNTS.values()):
        frame[column] = frame[column].astype(np.int64)
    return frame


def _mask(frame: pd.DataFrame, name: str, spec) -> np.ndarray:
    if name not in FILTERABLE:
        raise ApiError(f"Invalid filter field: {name}")
    if not isinstance(spec, dict) or "conditional" not in spec:
        raise ApiError(f"Filter on {name} needs a conditional")
    conditional = str(spec["conditional"]).upper()
    values = [parse_filter_value(REPORT_FIELDS[name], raw) for raw in as_list(spec.get("values"))]
    if not values:
        raise ApiError(f"Filter on {name} needs values")
    return compare_values(frame[DIMENSIONS[name]].to_numpy(), conditional, values, name)


def _render(name: str, value) -> str:
    if name == "Stat.date":
        return pd.Timestamp(int(value), unit="s").strftime("%Y-%m-%d")
    if name in AMOUNTS:
        return tune_amount(int(value))
    return str(value)


def get_stats(world, network: SandboxNetwork, params: dict) -> dict:
    fields = as_list(params.get("fields"))
    if not fields:
        raise ApiError("Missing required argument: fields")
    for name in fields:
        if name not in DIMENSIONS and name not in METRICS:
            raise ApiError(f"Invalid field: {name}")
    groups = as_list(params.get("groups"))
    for name in groups:
        if name not in DIMENSIONS:
            raise ApiError(f"Invalid group: {name}")
    filters, sort = params.get("filters") or {}, params.get("sort") or {}
    if not isinstance(filters, dict) or not isinstance(sort, dict):
        raise ApiError("filters and sort must be arrays")
    limit, page = limit_and_page(params, MAX_LIMIT)

    frame = _fine_frame(world, network)
    mask = np.ones(len(frame), dtype=bool)
    for name, spec in filters.items():
        mask &= _mask(frame, name, spec)
    frame = frame[mask]

    keys = list(dict.fromkeys([*groups, *(f for f in fields if f in DIMENSIONS)]))
    columns = [DIMENSIONS[k] for k in keys]
    sums = sorted(set(METRICS.values()))
    if columns:
        grouped = frame.groupby(columns, as_index=False, sort=True)[sums].sum()
    else:
        grouped = frame[sums].sum().to_frame().T if len(frame) else frame[sums].iloc[0:0]
    for name, direction in reversed(list(sort.items())):
        if name not in fields:
            raise ApiError(f"Invalid sort field: {name}")
        if str(direction).lower() not in ("asc", "desc"):
            raise ApiError(f"Invalid sort direction {direction} for {name}")
        column = DIMENSIONS.get(name) or METRICS[name]
        grouped = grouped.sort_values(column, ascending=str(direction).lower() == "asc", kind="stable")

    chosen = grouped.iloc[page_slice(limit, page)]
    rows = []
    for record in chosen.to_dict("records"):
        row: dict = {}
        for name in fields:
            model, _, attribute = name.partition(".")
            row.setdefault(model, {})[attribute] = _render(name, record[DIMENSIONS.get(name) or METRICS[name]])
        rows.append(row)
    envelope = page_envelope(page if limit else 1, limit, len(grouped), rows)
    if str(params.get("totals", "")).lower() in ("1", "true"):
        envelope["totals"] = {
            "Stat": {
                name.partition(".")[2]: _render(name, int(grouped[METRICS[name]].sum()) if len(grouped) else 0)
                for name in fields
                if name in METRICS
            }
        }
    return envelope
