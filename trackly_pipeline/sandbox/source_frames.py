"""Ground truth as pandas frames: what the pipeline's output should agree with."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .conversions import STATUSES, NetworkConversions
from .money import decimal_amount
from .networks import SUB_ID_FIELDS, SandboxNetwork
from .offers import SandboxOffer
from .resends import last_good_states

CONVERSION_COLUMNS = (
    "network_key",
    "network_id",
    "conversion_id",
    "tune_event_id",
    "ad_id",
    "converted_at",
    "offer_id",
    "goal_id",
    "affiliate_id",
    "status",
    "status_code",
    "is_adjustment",
    "payout",
    "revenue",
    "sale_amount",
    "currency",
    *SUB_ID_FIELDS,
    "attribution_method",
    "click_id",
    "message_id",
    "creative_id",
    "campaign_id",
    "clicked_at",
    "stored_at",
)


def _none_if(values: np.ndarray, empty) -> pd.Series:
    # object dtype keeps None as None (pandas' string dtype would turn it into NaN)
    return pd.Series([None if v == empty else v for v in values.tolist()], dtype=object)


def _decimals(cents: np.ndarray) -> pd.Series:
    return pd.Series([decimal_amount(c) for c in cents.tolist()], dtype=object)


def _utc_or_none(seconds: np.ndarray) -> pd.Series:
    stamps = pd.Series(pd.to_datetime(seconds, unit="s", utc=True))
    return stamps.where(seconds >= 0, pd.NaT)


def stored_instants(local_seconds: np.ndarray, zone: str) -> pd.DatetimeIndex:
    """The UTC instant the pipeline stores for each network-local wall time (naive epoch seconds):
    the wall time's instant, or the later of its two when a fall-back repeats it (docs/tables.md,
    tune.conversions.converted_at)."""
    naive = pd.to_datetime(local_seconds, unit="s")
    once = naive.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    stored = pd.Series(once.tz_convert("UTC"))
    tz = ZoneInfo(zone)
    for position in np.flatnonzero(once.isna()).tolist():
        wall = naive[position].to_pydatetime()
        stored.iloc[position] = max(wall.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    return pd.DatetimeIndex(stored).tz_convert("UTC")


def conversions_frame(table: NetworkConversions, as_of_seconds: int, held: bool = True) -> pd.DataFrame:
    """Our affiliate's conversions as of the clock (other partners' earned Trackly nothing).
    `converted_at` is when the conversion happened; `stored_at` what the pipeline stores as its
    converted_at, read from Stat.datetime's wall time: the same instant, but an hour (a shift) later
    for a conversion in the first occurrence of a repeated hour."""
    rows = table.ours(table.visible(as_of_seconds))
    status, payout, revenue = table.state_at_clock(rows, as_of_seconds)
    if held:  # as the pipeline should hold them: one TUNE serves unreadable keeps its last good state
        status, payout, revenue = last_good_states(table, rows, as_of_seconds, status, payout, revenue)
    network = table.network
    data = {
        "network_key": network.key,
        "network_id": network.network_id,
        "conversion_id": table.conversion_id[rows],
        "tune_event_id": table.tune_event_id[rows].astype(object),
        "ad_id": _none_if(table.ad_id[rows], ""),  # TUNE sends "" for no ad_id
        "converted_at": pd.to_datetime(table.converted_at[rows], unit="s", utc=True),
        "offer_id": table.offer_id[rows],
        "goal_id": table.goal_id[rows],
        "affiliate_id": table.affiliate_id[rows].astype(str).astype(object),
        "status": np.array(STATUSES, dtype=object)[status],
        "status_code": table.status_code[rows],
        "is_adjustment": table.is_adjustment[rows],
        "payout": _decimals(payout),
        "revenue": _decimals(revenue),
        "sale_amount": _decimals(table.sale_cents[rows]),
        "currency": table.currency[rows].astype(object),
    }
    for name in SUB_ID_FIELDS:
        data[name] = _none_if(table.sub_ids[name][rows], "")
    creative = table.creative_id[rows]
    data.update(
        {
            "attribution_method": table.carrier[rows].astype(object),
            "click_id": _none_if(table.click_id[rows], ""),
            "message_id": _none_if(table.message_id[rows], ""),
            "creative_id": pd.array(np.where(creative >= 0, creative, 0), dtype="Int64"),
            "campaign_id": pd.array(np.where(creative >= 0, table.campaign_id[rows], 0), dtype="Int64"),
            "clicked_at": _utc_or_none(table.clicked_at[rows]).to_numpy(),
            "stored_at": stored_instants(table.local_seconds[rows], network.timezone),
        }
    )
    frame = pd.DataFrame(data, columns=list(CONVERSION_COLUMNS))
    missing = creative < 0
    frame.loc[missing, "creative_id"] = pd.NA
    frame.loc[missing, "campaign_id"] = pd.NA
    return frame


def offers_frame(network: SandboxNetwork, offers: list[SandboxOffer]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "network_key": network.key,
                "network_id": network.network_id,
                "offer_id": o.offer_id,
                "name": o.model["name"],
                "status": o.status,
                "payout_type": o.payout_type,
                "default_payout": decimal_amount(o.default_payout_cents),
                "percent_payout": o.percent_payout if o.uses_sale_amount else None,
                "currency": o.currency,
                "effective_currency": o.effective_currency(network),
                "approve_conversions": o.approve_conversions,
                "advertiser_id": o.advertiser.id if o.advertiser else None,
                "advertiser_company": o.advertiser.company if o.advertiser else None,
                "offer_url": o.model["offer_url"],
            }
            for o in offers
        ]
    )


STATS_COLUMNS = (
    "network_key",
    "network_id",
    "date",
    "offer_id",
    "currency",
    "clicks",
    "conversions",
    "pending_conversions",
    "payout",
    "revenue",
    "sale_amount",
    "pending_payout",
)


def stats_frame(
    network: SandboxNetwork, conversions: pd.DataFrame, clicks: pd.DataFrame, currency_of: dict[int, str], as_of
) -> pd.DataFrame:
    """Per (network-local date, offer, currency): approved conversions without adjustments, approved
    money with adjustments, pending counts/payout, and every click through the account's links (its
    network id and affiliate id) up to `as_of`."""
    from collections import defaultdict
    from decimal import Decimal

    zero = Decimal("0.00")
    totals: dict[tuple, dict] = defaultdict(
        lambda: {
            "clicks": 0,
            "conversions": 0,
            "pending_conversions": 0,
            "payout": zero,
            "revenue": zero,
            "sale_amount": zero,
            "pending_payout": zero,
        }
    )
    for row in conversions.itertuples(index=False):
        entry = totals[(row.converted_at.tz_convert(network.timezone).date(), int(row.offer_id), row.currency)]
        if row.status == "approved":
            entry["conversions"] += 0 if row.is_adjustment else 1
            entry["payout"] += row.payout
            entry["revenue"] += row.revenue
            entry["sale_amount"] += row.sale_amount
        elif row.status == "pending":
            entry["pending_conversions"] += 0 if row.is_adjustment else 1
            entry["pending_payout"] += row.payout
    mine = clicks[
        (clicks.network_id == network.network_id)
        & (clicks.affiliate_id == int(network.affiliate_id))
        & (clicks.clicked_at <= pd.Timestamp(as_of))
    ]
    local_dates = mine.clicked_at.dt.tz_convert(network.timezone).dt.date
    for (day, offer_id), count in mine.groupby([local_dates, mine.offer_id]).size().items():
        totals[(day, int(offer_id), currency_of[int(offer_id)])]["clicks"] += int(count)
    records = [
        {
            "network_key": network.key,
            "network_id": network.network_id,
            "date": day,
            "offer_id": offer_id,
            "currency": currency,
            **values,
        }
        for (day, offer_id, currency), values in sorted(totals.items())
    ]
    return pd.DataFrame(records, columns=list(STATS_COLUMNS))
