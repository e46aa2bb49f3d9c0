"""The raw `Conversion` model: Conversion::findAll and Conversion::findUpdatedConversions.

findAll: the conversions that have happened by the clock (every affiliate's), in their state at the
clock, filtered (`filters`, as Offer::findAll's), sorted (`sort`, default id ascending), `fields[]`,
`limit`/`page`, in TUNE's shapes (recordings 12-17).

findUpdatedConversions: conversions whose state changed after creation, in a time range. A change is a
status-history event after creation (pending -> approved/rejected, a refund that rejects an approved
conversion, a staff payout edit) with its effective time in [start_date, end_date] (network-local wall
time, both ends inclusive) and not after the clock. Each such conversion is returned once, in its state
at the clock.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .conversions import STATUSES, NetworkConversions
from .model_filters import row_matches, sort_rows
from .money import tune_amount
from .networks import SandboxNetwork
from .offers import COUNTRY_MODELS
from .paging import limit_and_page, page_slice
from .params import as_list
from .wire import ApiError, page_envelope

# The keys of TUNE's Conversion model (recordings 08, 12, 14, 16; tune-api.md 4.6), in the spec's
# order, plus `tune_event_id`, which TUNE's reports have since (Stat.tune_event_id). Every value is a
# string, as recorded: "" for no text, "0" for no id.
CONVERSION_FIELDS = (
    "id",
    "tune_event_id",
    "ad_id",
    "internal_ad_id",
    "offer_id",
    "goal_id",
    "affiliate_id",
    "advertiser_id",
    "affiliate_manager_id",
    "advertiser_manager_id",
    "creative_url_id",
    "offer_file_id",
    "customer_id",
    "source",
    "affiliate_info1",
    "affiliate_info2",
    "affiliate_info3",
    "affiliate_info4",
    "affiliate_info5",
    "advertiser_info",
    "datetime",
    "session_datetime",
    "payout",
    "revenue",
    "sale_amount",
    "currency",
    "payout_type",
    "revenue_type",
    "status",
    "status_code",
    "is_adjustment",
    "ip",
    "session_ip",
    "refer",
    "pixel_refer",
    "user_agent",
    "country_code",
    "browser_id",
    "ad_campaign_id",
    "ad_campaign_creative_id",
)
_SUB_IDS = ("aff_sub", "aff_sub2", "aff_sub3", "aff_sub4", "aff_sub5")


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


def updated_rows(table: NetworkConversions, clock_seconds: int, start_local: int, end_local: int) -> np.ndarray:
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


def _digest(network_id: str, conversion_id: int) -> bytes:
    """16 bytes fixed by the conversion, for the values nothing else decides (no random draw)."""
    return hashlib.blake2b(f"{network_id}/{conversion_id}".encode(), digest_size=16).digest()


def conversion_models(
    world, network: SandboxNetwork, table: NetworkConversions, rows: np.ndarray, clock: int
) -> list[dict]:
    """The Conversion model of `rows` (ascending), in their state at the clock."""
    status, payout, revenue = table.state_at_clock(rows, clock)
    offers = {o.offer_id: o for o in world.offers(network.network_id)}
    country_of = {o.offer_id: COUNTRY_MODELS[o.countries[0]][1] if o.countries else "US" for o in offers.values()}
    zone = ZoneInfo(network.timezone)
    subs = table.sub_ids
    models = []
    for i, row in enumerate(rows.tolist()):
        conversion_id, offer_id = int(table.conversion_id[row]), int(table.offer_id[row])
        offer = offers[offer_id]
        advertiser = offer.advertiser
        digest = _digest(network.network_id, conversion_id)
        mix = int.from_bytes(digest[:4], "big")
        converted, clicked = int(table.converted_at[row]), int(table.clicked_at[row])
        # TUNE's session is the click that started it: Trackly's click when there was one before.
        session = clicked if 0 <= clicked <= converted else converted - 30 - mix % 7200
        ip = f"203.0.113.{mix % 254 + 1}"
        models.append(
            {
                "id": str(conversion_id),
                "tune_event_id": str(table.tune_event_id[row]),
                "ad_id": str(table.ad_id[row]),
                "internal_ad_id": str(uuid.UUID(bytes=digest, version=4)),
                "offer_id": str(offer_id),
                "goal_id": str(table.goal_id[row]),
                "affiliate_id": str(table.affiliate_id[row]),
                "advertiser_id": str(advertiser.id) if advertiser else "0",
                "affiliate_manager_id": str(1 + int(table.affiliate_id[row]) % 12),
                "advertiser_manager_id": advertiser.account_manager_id if advertiser else "0",
                "creative_url_id": "0",
                "offer_file_id": "0",
                "customer_id": "0",
                "source": str(subs["source"][row]),
                **{f"affiliate_info{n}": str(subs[name][row]) for n, name in enumerate(_SUB_IDS, start=1)},
                "advertiser_info": "",
                "datetime": str(table.local_text[row]),
                "session_datetime": datetime.fromtimestamp(session, zone).strftime("%Y-%m-%d %H:%M:%S"),
                "payout": tune_amount(int(payout[i])),
                "revenue": tune_amount(int(revenue[i])),
                "sale_amount": tune_amount(int(table.sale_cents[row])),
                "currency": str(table.currency[row]),
                "payout_type": offer.payout_type,
                "revenue_type": str(offer.model["revenue_type"]),
                "status": STATUSES[int(status[i])],
                "status_code": str(table.status_code[row]),
                "is_adjustment": "1" if table.is_adjustment[row] else "0",
                "ip": ip,
                "session_ip": ip,
                "refer": "",
                "pixel_refer": "",
                "user_agent": "",
                "country_code": country_of[offer_id],
                "browser_id": str(1 + mix % 9),
                "ad_campaign_id": "0",
                "ad_campaign_creative_id": "0",
            }
        )
    return models


def _wanted_fields(params: dict) -> list[str]:
    wanted = as_list(params.get("fields")) or list(CONVERSION_FIELDS)
    for name in wanted:
        if name not in CONVERSION_FIELDS:
            raise ApiError(f"Field {name} does not exist in Conversion")
    return wanted


def _keyed(models: list[dict], wanted: list[str]) -> dict | list:
    """Id-keyed entries; PHP encodes an empty one as `[]`."""
    return {model["id"]: {"Conversion": {name: model[name] for name in wanted}} for model in models} or []


def find_all(world, network: SandboxNetwork, params: dict):
    wanted = _wanted_fields(params)
    filters = params.get("filters") or {}
    sort = params.get("sort") or {"id": "asc"}
    if not isinstance(filters, dict) or not isinstance(sort, dict):
        raise ApiError("filters and sort must be arrays")
    limit, page = limit_and_page(params)
    clock = world.clock.epoch_seconds()
    table = world.conversions(network.network_id)
    models = conversion_models(world, network, table, table.visible(clock), clock)
    matching = sort_rows([model for model in models if row_matches(model, filters)], sort)
    if limit is None:
        return _keyed(matching, wanted)
    return page_envelope(page, limit, len(matching), _keyed(matching[page_slice(limit, page)], wanted))


def find_updated_conversions(world, network: SandboxNetwork, params: dict):
    start = _local_seconds(params.get("start_date"), "start_date", end=False)
    end = _local_seconds(params.get("end_date"), "end_date", end=True)
    wanted = _wanted_fields(params)
    limit, page = limit_and_page(params)
    clock = world.clock.epoch_seconds()
    table = world.conversions(network.network_id)
    rows = updated_rows(table, clock, start, end)
    keyed = _keyed(conversion_models(world, network, table, rows[page_slice(limit, page)], clock), wanted)
    if limit is None:
        return keyed
    return page_envelope(page, limit, len(rows), keyed)
