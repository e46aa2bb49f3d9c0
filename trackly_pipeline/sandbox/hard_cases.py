"""Conversions at the edges of the attribution rule, planted in the world with what each must become.

Each case takes one of our recent ordinary conversions (alone on its transaction), plants fresh
Trackly log rows around its time, and points its ad_id or sub id at them (the other one names
nothing Trackly knows): a click after the conversion, a click at the clock-skew limit and at
the window edge (and one second past each), a click id logged twice, a message clicked several
times around its conversion, ties to the second. The ground truth (`attribution_method`,
`click_id`, `message_id`, creative and campaign) becomes the case's designed outcome, so every test
and the demo that compare with it cover these cases; `SandboxWorld.hard_cases()` lists them with
the expected reason.

Outcomes are designed for the defaults of trackly.yaml: a 7-day attribution window, 300 s of clock
skew, so a 30-day lookup horizon. The planted ids are new, so no other conversion meets them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .conversions import NetworkConversions
from .randomids import unique_ids
from .trackly_activity import TracklyLog

DAY, HOUR = 86_400, 3_600
WINDOW = 7 * DAY  # attribution_window_days: 7
SKEW = 300  # attribution_clock_skew_s: 300


@dataclass(frozen=True)
class HardCase:
    """Log rows around a conversion at t (offsets in seconds from t) and the ids the conversion carries.
    Names are placeholders: M* messages, K* clicks; a send's slot says which creative it has."""

    name: str
    sends: tuple[tuple[str, int, int], ...]  # (message, offset, creative slot 0/1)
    # (click, message, offset[, "other offer"]), in log order; message None or "": logged without one
    clicks: tuple[tuple, ...]
    ad_id: str | None  # a click placeholder, None: a transaction id Trackly does not know, "": empty
    sub_id: str | None  # a click or message placeholder, or None: empty
    method: str
    click: str | None = None  # the credited click (the first click on the message)
    message: str | None = None
    reason: str | None = None
    slot: int | None = None  # the credited message's first send's creative slot


CASES: tuple[HardCase, ...] = (
    HardCase(
        "ad_id names a click after the conversion",
        (("M", -HOUR, 0),),
        (("K", "M", 2 * HOUR),),
        "K",
        None,
        "unattributed",
        reason="click after the conversion",
    ),
    HardCase(
        "sub id names a click after the conversion",
        (("M", -HOUR, 0),),
        (("K", "M", 2 * HOUR),),
        None,
        "K",
        "unattributed",
        reason="click after the conversion",
    ),
    HardCase(
        "sub id names a message sent after the conversion",
        (("M", HOUR, 0),),
        (),
        None,
        "M",
        "unattributed",
        reason="message sent after the conversion",
    ),
    HardCase(
        "sub id names a message clicked only after the conversion",
        (("M", -HOUR, 0),),
        (("K", "M", HOUR),),
        None,
        "M",
        "sub_id_message",
        message="M",
        slot=0,
    ),
    HardCase(
        "click exactly at the clock-skew limit",
        (("M", -HOUR, 0),),
        (("K", "M", SKEW),),
        "K",
        None,
        "ad_id_click",
        click="K",
        message="M",
        slot=0,
    ),
    HardCase(
        "click one second past the clock-skew limit",
        (("M", -HOUR, 0),),
        (("K", "M", SKEW + 1),),
        "K",
        None,
        "unattributed",
        reason="click after the conversion",
    ),
    HardCase(
        "click exactly at the window edge",
        (("M", -WINDOW - HOUR, 0),),
        (("K", "M", -WINDOW),),
        "K",
        None,
        "ad_id_click",
        click="K",
        message="M",
        slot=0,
    ),
    HardCase(
        "click one second outside the window",
        (("M", -WINDOW - HOUR, 0),),
        (("K", "M", -WINDOW - 1),),
        "K",
        None,
        "unattributed",
        reason="click outside the attribution window",
    ),
    HardCase(
        "click id logged twice, first outside the window",
        (("M1", -9 * DAY, 0), ("M2", -2 * HOUR, 1)),
        (("K", "M1", -8 * DAY), ("K", "M2", -HOUR)),
        "K",
        None,
        "unattributed",
        reason="click outside the attribution window",
    ),
    HardCase(
        "click id logged twice, first beyond the lookup horizon",
        (("M1", -41 * DAY, 0), ("M2", -2 * HOUR, 1)),
        (("K", "M1", -40 * DAY), ("K", "M2", -HOUR)),
        "K",
        None,
        "ad_id_click",
        click="K",
        message="M2",
        slot=1,
    ),
    HardCase(
        "a re-click does not stretch the window",
        (("M", -9 * DAY, 0),),
        (("K1", "M", -8 * DAY), ("K2", "M", -HOUR)),
        "K2",
        None,
        "unattributed",
        reason="click outside the attribution window",
    ),
    HardCase(
        "ad_id names a re-click of a message clicked around the conversion",
        (("M", -3 * HOUR, 0),),
        (("K1", "M", -2 * HOUR), ("K2", "M", -HOUR), ("K3", "M", HOUR)),
        "K2",
        None,
        "ad_id_click",
        click="K1",
        message="M",
        slot=0,
    ),
    HardCase(
        "sub id names a message clicked before and after the conversion",
        (("M", -3 * HOUR, 0),),
        (("K1", "M", -2 * HOUR), ("K2", "M", HOUR)),
        None,
        "M",
        "sub_id_message",
        click="K1",
        message="M",
        slot=0,
    ),
    HardCase(
        "two clicks on a message in the same second",
        (("M", -2 * HOUR, 0),),
        (("Kb", "M", -HOUR), ("Ka", "M", -HOUR)),
        None,
        "M",
        "sub_id_message",
        click="Ka",
        message="M",
        slot=0,
    ),
    HardCase(
        "one click id logged twice in the same second",
        (("M1", -2 * HOUR, 0), ("M2", -2 * HOUR, 1)),
        (("K", "M1", -HOUR), ("K", "M2", -HOUR)),
        "K",
        None,
        "ad_id_click",
        click="K",
        message="M1",
        slot=0,
    ),
    HardCase(
        "a message id sent twice",
        (("M", -5 * HOUR, 0), ("M", -3 * HOUR, 1)),
        (("K", "M", -HOUR),),
        None,
        "M",
        "sub_id_message",
        click="K",
        message="M",
        slot=0,
    ),
    HardCase(
        "a message id sent twice in the same second",
        (("M", -3 * HOUR, 0), ("M", -3 * HOUR, 1)),
        (("K", "M", -HOUR),),
        "K",
        None,
        "ad_id_click",
        click="K",
        message="M",
        slot=0,
    ),
    HardCase(
        "a click logged without a message is its own engagement",
        (),
        (("K", None, -HOUR),),
        "K",
        None,
        "ad_id_click",
        click="K",
    ),
    HardCase(
        "clicks logged with an empty message id are no message",
        (),
        (("K0", "", -10 * DAY), ("K", "", -HOUR)),
        "K",
        None,
        "ad_id_click",
        click="K",
    ),
    HardCase(
        "a first click on the message's link to another offer does not take the credit",
        (("M", -11 * DAY, 0),),
        (("K1", "M", -10 * DAY, "other offer"), ("K2", "M", -HOUR)),
        "K2",
        None,
        "ad_id_click",
        click="K2",
        message="M",
        slot=0,
    ),
    HardCase(
        "a message no send was logged for, clicked before the conversion",
        (),
        (("K", "M", -HOUR),),
        None,
        "M",
        "sub_id_message",
        click="K",
        message="M",
    ),
    HardCase(
        "a message sent before the lookup horizon and not clicked since",
        (("M", -40 * DAY, 0),),
        (),
        None,
        "M",
        "unattributed",
        reason="message sent before the lookup horizon",
    ),
    HardCase(
        "a message sent outside the window and never clicked",
        (("M", -WINDOW - HOUR, 0),),
        (),
        None,
        "M",
        "unattributed",
        reason="message sent outside the attribution window",
    ),
    HardCase("neither the ad_id nor the sub id is set", (), (), "", None, "unattributed", reason="sub-id empty"),
)

HARD_CASE_COLUMNS = (
    "network_key",
    "conversion_id",
    "case",
    "expected_method",
    "expected_click_id",
    "expected_message_id",
    "expected_reason",
    "expected_creative_id",
)


def plant_hard_cases(
    rng: np.random.Generator,
    trackly: TracklyLog,
    tables: dict[str, NetworkConversions],
    creatives_by_offer: dict[tuple[str, int], int],
    anchor_seconds: int,
) -> tuple[TracklyLog, dict[str, NetworkConversions], pd.DataFrame]:
    """The world with CASES planted on each network's recent conversions (as many as it has room for)."""
    taken_clicks = set(trackly.clicks.click_id.tolist())
    taken_messages = set(trackly.messages.message_id.tolist())
    taken_links = set(trackly.links.link_id.tolist())
    campaigns = np.unique(trackly.messages.campaign_id.to_numpy())
    creative_pool = np.unique(np.array(list(creatives_by_offer.values()), dtype=np.int64))
    sends, links, clicks, outcomes = [], [], [], []
    planted = {}
    for network_id, table in tables.items():
        rows = _room(table, anchor_seconds)
        rows = np.sort(rng.choice(rows, size=min(len(rows), len(CASES)), replace=False))
        table = _copy(table)
        field = table.network.message_id_field
        for case, row in zip(CASES, rows.tolist()):
            t = int(table.converted_at[row])
            offer = int(table.offer_id[row])
            names = (
                {name for name, *_ in case.sends}
                | {name for name, *_ in case.clicks}
                | {message for _, message, *_ in case.clicks if message}
            )
            messages = sorted(n for n in names if n.startswith("M"))
            click_names = sorted(n for n in names if n.startswith("K"))
            ids = dict(
                zip(messages, unique_ids(rng, len(messages), 8, alphabet="base62", taken=taken_messages).tolist())
            )
            # Sorted, so "Ka" < "Kb" holds for the ids too: a tie in time is broken by the click id.
            ids.update(zip(click_names, sorted(unique_ids(rng, len(click_names), 24, taken=taken_clicks).tolist())))
            taken_messages.update(ids[m] for m in messages)
            taken_clicks.update(ids[k] for k in click_names)
            own_creative = creatives_by_offer[(network_id, offer)]
            other_creative = int(rng.choice(creative_pool[creative_pool != own_creative]))
            creatives = (own_creative, other_creative)
            campaign = int(rng.choice(campaigns))
            for message, offset, slot in case.sends:
                sends.append(
                    {
                        "message_id": ids[message],
                        "creative_id": creatives[slot],
                        "campaign_id": campaign,
                        "contact_id": int(rng.integers(1, 10**6)),
                        "sending_list_id": int(rng.integers(1, 13)),
                        "sent_at": t + offset,
                    }
                )
            other_offer = int(rng.choice([o for n, o in sorted(creatives_by_offer) if n == network_id and o != offer]))
            affiliate_id = int(table.network.affiliate_id)
            link_of = {}
            for _, message, _, *other in case.clicks:
                clicked_offer = other_offer if other else offer
                if message and (message, clicked_offer) not in link_of:  # one link per message and offer
                    link_id = unique_ids(rng, 1, 7, alphabet="base62", taken=taken_links)[0]
                    taken_links.add(link_id)
                    link_of[(message, clicked_offer)] = link_id
                    links.append(
                        {
                            "link_id": link_id,
                            "message_id": ids[message],
                            "network_id": network_id,
                            "offer_id": clicked_offer,
                            "affiliate_id": affiliate_id,
                        }
                    )
            for click, message, offset, *other in case.clicks:
                clicked_offer = other_offer if other else offer
                clicks.append(
                    {
                        "click_id": ids[click],
                        "link_id": link_of.get((message, clicked_offer)),
                        "message_id": ids[message] if message else message,
                        "network_id": network_id,
                        "offer_id": clicked_offer,
                        "clicked_at": t + offset,
                        "ip": f"203.0.113.{int(rng.integers(1, 255))}",
                        "user_agent": "Mozilla/5.0 (iPhone)",
                        "affiliate_id": affiliate_id,
                    }
                )

            # The conversion now carries the planted ids, and its truth is the case's outcome.
            table.ad_id[row] = (
                ids[case.ad_id]
                if case.ad_id
                else case.ad_id
                if case.ad_id == ""
                else unique_ids(rng, 1, 30, taken=taken_clicks)[0]
            )
            table.sub_ids[field][row] = ids[case.sub_id] if case.sub_id else ""
            credited_click = ids[case.click] if case.click else None
            engaged_at = next(
                (
                    t + offset
                    for name, message, offset, *_ in case.clicks
                    if name == case.click and (message or None) == case.message
                ),
                -1,
            )
            table.carrier[row] = case.method
            # The truth names a click for the click passes only (as for every sub_id_message conversion).
            table.click_id[row] = credited_click if credited_click and case.method != "sub_id_message" else ""
            table.clicked_at[row] = engaged_at if table.click_id[row] else -1
            table.message_id[row] = ids[case.message] if case.message else ""
            table.creative_id[row] = creatives[case.slot] if case.slot is not None else -1
            table.campaign_id[row] = campaign if case.slot is not None else -1
            outcomes.append(
                (
                    table.network.key,
                    int(table.conversion_id[row]),
                    case.name,
                    case.method,
                    credited_click,
                    ids[case.message] if case.message else None,
                    case.reason,
                    creatives[case.slot] if case.slot is not None else None,
                )
            )
        planted[network_id] = table
    return (
        _with_rows(trackly, sends, links, clicks),
        planted,
        pd.DataFrame(outcomes, columns=list(HARD_CASE_COLUMNS), dtype=object),
    )


def _room(table: NetworkConversions, anchor_seconds: int) -> np.ndarray:
    """Our ordinary conversions of the last days before the anchor that share their transaction with
    no other conversion (extra goals copy its ids)."""
    ours = table.affiliate_id == int(table.network.affiliate_id)
    alone = pd.Series(table.ad_id).map(pd.Series(table.ad_id).value_counts()).to_numpy() == 1
    recent = (table.converted_at >= anchor_seconds - 6 * DAY) & (table.converted_at <= anchor_seconds - 2 * HOUR)
    ordinary = ~table.is_adjustment & (table.goal_id == 0)
    return np.flatnonzero(ours & alone & recent & ordinary)


def _copy(table: NetworkConversions) -> NetworkConversions:
    """The table with its own copies of the columns a case changes."""
    return replace(
        table,
        ad_id=table.ad_id.copy(),  # 30 characters: a 24-character click id fits
        sub_ids={name: values.copy() for name, values in table.sub_ids.items()},
        carrier=table.carrier.copy(),
        click_id=table.click_id.copy(),
        message_id=table.message_id.copy(),
        creative_id=table.creative_id.copy(),
        campaign_id=table.campaign_id.copy(),
        clicked_at=table.clicked_at.copy(),
    )


def _with_rows(trackly: TracklyLog, sends: list[dict], links: list[dict], clicks: list[dict]) -> TracklyLog:
    """The log with the planted rows, in its time order; rows at the same time keep their planted order."""
    return replace(
        trackly,
        messages=_inserted_in_order(trackly.messages, sends, "sent_at", "message_id"),
        links=pd.concat(
            [trackly.links, pd.DataFrame(links, columns=trackly.links.columns).astype(trackly.links.dtypes.to_dict())],
            ignore_index=True,
        ),
        clicks=_inserted_in_order(trackly.clicks, clicks, "clicked_at", "click_id"),
    )


def _inserted_in_order(frame: pd.DataFrame, rows: list[dict], time_column: str, id_column: str) -> pd.DataFrame:
    """`frame` (sorted by time, then id) with `rows` (times in epoch seconds) inserted where a stable sort
    by (time, id) would put them: after the equal rows already there, in the order given. Sorting the
    whole log again by a string column would cost seconds on a large world."""
    new = pd.DataFrame(rows, columns=frame.columns)
    new[time_column] = pd.to_datetime(new[time_column].astype(np.int64), unit="s", utc=True)
    new = new.astype(frame.dtypes.to_dict())
    times = frame[time_column].to_numpy(dtype="datetime64[ns]")
    ids = frame[id_column].to_numpy()
    slots = []  # where each new row goes: after this many existing rows
    for at, key in zip(new[time_column].to_numpy(dtype="datetime64[ns]"), new[id_column].tolist()):
        low, high = np.searchsorted(times, at, "left"), np.searchsorted(times, at, "right")
        slots.append(low + sum(1 for existing in ids[low:high].tolist() if existing <= key))
    # Among new rows in one slot: by (time, id), then as given.
    order_in_slot = sorted(
        range(len(rows)), key=lambda n: (slots[n], new[time_column].iloc[n], new[id_column].iloc[n], n)
    )
    position = np.empty(len(frame) + len(rows), dtype=np.int64)
    keys = np.concatenate(
        [np.arange(len(frame)) * 2 + 1, np.array([slots[n] * 2 for n in order_in_slot], dtype=np.int64)]
    )
    position[:] = np.argsort(keys, kind="stable")
    combined = pd.concat([frame, new.iloc[order_in_slot]], ignore_index=True)
    return combined.iloc[position].reset_index(drop=True)
