"""Conversion::findUpdatedConversions: conversions whose state changed after creation, in a time range.

A change is a status-history event after creation (pending -> approved/rejected, a refund that rejects
an approved conversion, a staff payout edit) with its effective time in [start_date, end_date]
(network-local wall time, both ends inclusive) and not after the clock. Each such conversion is
returned once, in its state at the clock, as the raw `Conversion` model.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from .conversions import STATUSES, ConversionTable
from .money import tune_amount
from .networks import SandboxNetwork
from .paging import limit_and_page, page_slice
from .params import as_list
from .wire import ApiError, page_envelope

CONVERSION_FIELDS = (
    "id", "tune_event_id", "ad_id", "offer_id", "goal_id", "affiliate_id", "advertiser_id", "source",
    "affiliate_info1", "affiliate_info2", "affiliate_info3", "affiliate_info4", "affiliate_info5",
    "advertiser_info", "datetime", "payout", "revenue", "sale_amount", "currency", "status",
    "status_code", "is_adjustment",
)


def _local_seconds(raw, name: str, end: bool) -> int:
    if raw is None or str(raw).strip() == "":
        raise ApiError(f"Missing required argument: {name}")
    text = str(raw).strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(f"Invalid {name}: {text}") from None
    seconds = int((moment.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds())
    if end and len(text) == 10:  # a bare date as end_date means through the end of that day
        seconds += 86_399
    return seconds


def updated_rows(table: ConversionTable, clock_seconds: int, start_local: int, end_local: int) -> np.ndarray:
    """Row indexes (ascending Stat.id) with a post-creation state change effective in the local range."""
    later = table.state_at[:, 1:]
    rows, _ = np.nonzero(later <= clock_seconds)
    if not len(rows):
        return rows
    at = later[later <= clock_seconds]
    local = pd.to_datetime(at, unit="s", utc=True).tz_convert(table.network.timezone).tz_localize(None)
    local_seconds = local.values.astype("datetime64[s]").astype(np.int64)
    hit = (local_seconds >= start_local) & (local_seconds <= end_local)
    return np.unique(rows[hit])


def _models(table: ConversionTable, rows: np.ndarray, clock: int, advertiser_of: dict) -> list[dict]:
    status, payout, revenue = table.state_at_clock(rows, clock)
    models = []
    for i, row in enumerate(rows.tolist()):
        offer_id = int(table.offer_id[row])
        subs = table.sub_ids
        models.append({
            "id": str(table.conversion_id[row]),
            "tune_event_id": str(table.tune_event_id[row]),
            "ad_id": str(table.ad_id[row]),
            "offer_id": str(offer_id),
            "goal_id": str(table.goal_id[row]),
            "affiliate_id": str(table.affiliate_id[row]),
            "advertiser_id": advertiser_of.get(offer_id),
            "source": subs["source"][row] or None,
            **{f"affiliate_info{n}": subs[name][row] or None
               for n, name in enumerate(("aff_sub", "aff_sub2", "aff_sub3", "aff_sub4", "aff_sub5"), start=1)},
            "advertiser_info": None,
            "datetime": str(table.local_text[row]),
            "payout": tune_amount(int(payout[i])),
            "revenue": tune_amount(int(revenue[i])),
            "sale_amount": tune_amount(int(table.sale_cents[row])),
            "currency": str(table.currency[row]),
            "status": STATUSES[int(status[i])],
            "status_code": str(table.status_code[row]),
            "is_adjustment": "1" if table.is_adjustment[row] else "0",
        })
    return models


def find_updated_conversions(world, network: SandboxNetwork, params: dict):
    start = _local_seconds(params.get("start_date"), "start_date", end=False)
    end = _local_seconds(params.get("end_date"), "end_date", end=True)
    wanted = as_list(params.get("fields")) or list(CONVERSION_FIELDS)
    for name in wanted:
        if name not in CONVERSION_FIELDS:
            raise ApiError(f"Field {name} does not exist in Conversion")
    limit, page = limit_and_page(params)
    clock = world.clock.epoch_seconds()
    table = world.conversions(network.network_id)
    rows = updated_rows(table, clock, start, end)
    chosen = rows[page_slice(limit, page)]
    advertiser_of = {o.offer_id: (str(o.advertiser.id) if o.advertiser else None) for o in world.offers(network.network_id)}
    keyed = {
        model["id"]: {"Conversion": {name: model[name] for name in wanted}}
        for model in _models(table, chosen, clock, advertiser_of)
    } or []
    if limit is None:
        return keyed
    return page_envelope(page, limit, len(rows), keyed)
