"""Conversions of one network, generated in columnar form (numpy) so 100k rows stay cheap.

Generation has two phases because conversions and Trackly clicks depend on each other:
`plan_conversions` decides when, on which offer and by which carrier each conversion happens
(and so which need a Trackly click before them); once the Trackly log exists,
`finalize_conversions` fills in ids, sub-id fields, money and the status history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .networks import SUB_ID_FIELDS, SandboxNetwork
from .offers import CONVERSION_WEIGHT_BY_STATUS, SandboxOffer
from .randomids import unique_ids

# How the Trackly click/message travels on a conversion; this is the attribution ground truth.
CARRIERS = ("ad_id_click", "sub_id_click", "sub_id_message", "unattributed")
AD_ID_CLICK, SUB_ID_CLICK, SUB_ID_MESSAGE, UNATTRIBUTED = range(4)
_CARRIER_SHARES = (0.42, 0.27, 0.20, 0.11)  # of ordinary conversions (not goals, not adjustments)

STATUSES = ("approved", "pending", "rejected")
APPROVED, PENDING, REJECTED = range(3)

PRIMARY, EXTRA_GOAL, ADJUSTMENT = range(3)
_EXTRA_GOAL_SHARE = 0.03
_ADJUSTMENT_SHARE = 0.02

DAY = 86_400
# Conversions moved into each occurrence of a repeated (fall-back) hour inside the world's span.
PLANTED_PER_OCCURRENCE = 3
NEVER = np.iinfo(np.int64).max  # effective time of unused status-history slots

# Values people leave in sub-id fields the network is not configured to read.
_JUNK_BY_FIELD = {
    "source": ("sms", "SMS", "txt", "trackly"),
    "aff_sub2": ("fb", "sms", "tt", "us_east"),
    "aff_sub4": ("{aff_sub4}", "promo", "v2"),
}
_GENERIC_JUNK = ("fb", "sms", "test", "promo", "A", "0", "null")


@dataclass
class ConversionPlan:
    network: SandboxNetwork
    offers: list[SandboxOffer]
    converted_at: np.ndarray  # UTC epoch seconds
    offer_index: np.ndarray  # into `offers`
    kind: np.ndarray  # PRIMARY | EXTRA_GOAL | ADJUSTMENT
    carrier: np.ndarray  # CARRIERS index
    parent: np.ndarray  # the primary an extra goal belongs to (same transaction), else -1
    clicked_at: np.ndarray  # for conversions that came through a Trackly click, else -1

    @property
    def needs_click(self) -> np.ndarray:
        return (self.kind == PRIMARY) & (self.carrier != UNATTRIBUTED)


@dataclass
class NetworkConversions:
    """One network's conversions, one numpy array per column, ordered by time (Stat.id): ours and
    other affiliates' (see partners.py)."""

    network: SandboxNetwork
    affiliate_id: np.ndarray  # Stat.affiliate_id: ours (network.affiliate_id) or another partner's
    conversion_id: np.ndarray
    tune_event_id: np.ndarray
    ad_id: np.ndarray
    converted_at: np.ndarray  # UTC epoch seconds
    local_seconds: np.ndarray  # network-local wall time as naive epoch seconds (for filters)
    local_text: np.ndarray  # Stat.datetime as rendered
    offer_id: np.ndarray
    goal_id: np.ndarray
    is_adjustment: np.ndarray
    status_code: np.ndarray  # explains the status at creation; TUNE never updates it
    sale_cents: np.ndarray
    currency: np.ndarray
    sub_ids: dict[str, np.ndarray]  # SUB_ID_FIELDS -> values, "" = empty
    # Status history: (rows, slots) ordered by time; unused slots are effective NEVER.
    state_at: np.ndarray
    state_status: np.ndarray
    state_payout: np.ndarray
    state_revenue: np.ndarray
    # Ground truth, decided at generation ("" / -1 = none).
    carrier: np.ndarray
    click_id: np.ndarray
    message_id: np.ndarray
    creative_id: np.ndarray
    campaign_id: np.ndarray
    clicked_at: np.ndarray
    offer_names: dict[int, str] = field(default_factory=dict)
    # Periods in which a conversion is served with a value spelled otherwise (resends.Resend).
    resends: tuple = ()

    def __len__(self) -> int:
        return len(self.conversion_id)

    def visible(self, clock_seconds: int) -> np.ndarray:
        """Indexes of conversions that have happened by the clock (every affiliate's)."""
        return np.flatnonzero(self.converted_at <= clock_seconds)

    def ours(self, rows: np.ndarray) -> np.ndarray:
        """Those of `rows` credited to our affiliate: the only ones Trackly earned."""
        return rows[self.affiliate_id[rows] == int(self.network.affiliate_id)]

    def state_index(self, rows: np.ndarray, clock_seconds: int) -> np.ndarray:
        """For each row, the history slot in force at the clock (the last one not after it)."""
        return (self.state_at[rows] <= clock_seconds).sum(axis=1) - 1

    def state_at_clock(self, rows: np.ndarray, clock_seconds: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(status, payout cents, revenue cents) of `rows` as of the clock."""
        slot = self.state_index(rows, clock_seconds)
        return (
            self.state_status[rows, slot],
            self.state_payout[rows, slot],
            self.state_revenue[rows, slot],
        )


def avoid_ambiguous_local_times(seconds: np.ndarray, zone: str) -> np.ndarray:
    """Nudge times whose local wall time is ambiguous (DST fall-back) two hours later.

    Only for adjustments, dated at a local midnight (`_local_midnights`), which a zone falling back
    at midnight would repeat. Conversions do happen in a repeated hour (`repeated_hours`). Times
    converted from UTC are never nonexistent, but both cases are checked so the invariant is stated
    in one place.
    """
    seconds = seconds.copy()
    while True:
        local = pd.to_datetime(seconds, unit="s", utc=True).tz_convert(zone).tz_localize(None)
        back = local.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        bad = np.asarray(back.isna())
        if not bad.any():
            return seconds
        seconds[bad] += 2 * 3600


def repeated_hours(zone: str, start: int, end: int) -> list[tuple[int, int]]:
    """Each fall-back of `zone` whose two occurrences both lie in [start, end] (UTC epoch seconds), as
    (change, shift): the wall times of [change - shift, change) come again in [change, change + shift).
    Offsets are probed hourly, then to the second in the hour that changed."""
    probes = np.arange(start - start % 3600, end + 3600, 3600, dtype=np.int64)
    offsets = _utc_offsets(probes, zone)
    found = []
    for i in np.flatnonzero(offsets[1:] < offsets[:-1]).tolist():
        seconds = np.arange(probes[i] + 1, probes[i + 1] + 1, dtype=np.int64)
        change = int(seconds[np.argmax(_utc_offsets(seconds, zone) == offsets[i + 1])])
        shift = int(offsets[i] - offsets[i + 1])
        if start <= change - shift and change + shift <= end:
            found.append((change, shift))
    return found


def _utc_offsets(seconds: np.ndarray, zone: str) -> np.ndarray:
    utc = pd.to_datetime(seconds, unit="s", utc=True)
    local = utc.tz_convert(zone).tz_localize(None).values.astype("datetime64[s]").astype(np.int64)
    return local - seconds


def _plant_in_repeated_hours(
    rng: np.random.Generator,
    primary_at: np.ndarray,
    clicked_at: np.ndarray,
    movable: np.ndarray,
    zone: str,
    start: int,
    end: int,
) -> None:
    """Move PLANTED_PER_OCCURRENCE of the `movable` primaries into each occurrence of each repeated
    hour of the span (in place), so that a world across a fall-back has conversions at both
    instants of the same wall times: in the first occurrence clicked up to one shift before; in
    the second clicked in the first occurrence, at a wall time later than theirs, a third to two
    thirds of the shift (20-40 minutes) after it. Read at the earlier instant, such a conversion
    would come before its own click."""
    for change, shift in repeated_hours(zone, start, end):
        for second in (False, True):
            free = np.flatnonzero(movable)
            if len(free) < PLANTED_PER_OCCURRENCE:
                return
            chosen = rng.choice(free, size=PLANTED_PER_OCCURRENCE, replace=False)
            movable[chosen] = False
            if second:
                into = rng.integers(0, shift // 3, size=len(chosen))
                primary_at[chosen] = change + into
                clicked_at[chosen] = change - shift + into + rng.integers(shift // 3, 2 * shift // 3, size=len(chosen))
            else:
                primary_at[chosen] = change - shift + rng.integers(0, shift, size=len(chosen))
                clicked_at[chosen] = primary_at[chosen] - rng.integers(60, shift, size=len(chosen))


def local_wall_time(seconds: np.ndarray, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """(network-local wall time as naive epoch seconds, Stat.datetime text) of UTC epoch seconds."""
    local = pd.to_datetime(seconds, unit="s", utc=True).tz_convert(zone).tz_localize(None)
    local_seconds = local.values.astype("datetime64[s]").astype(np.int64)
    iso = np.datetime_as_string(local.values.astype("datetime64[s]")).astype("U19")
    text = np.char.replace(iso, "T", " ") if len(iso) else iso
    return local_seconds, text


def _local_midnights(seconds: np.ndarray, zone: str) -> np.ndarray:
    """Adjustments are dated at the start of the chosen day, as TUNE's Adjust Stats tool does."""
    local = pd.to_datetime(seconds, unit="s", utc=True).tz_convert(zone).normalize()
    return local.tz_convert("UTC").values.astype("datetime64[s]").astype(np.int64)


def plan_conversions(
    rng: np.random.Generator,
    network: SandboxNetwork,
    offers: list[SandboxOffer],
    count: int,
    start: int,
    end: int,
) -> ConversionPlan:
    n_adjust = max(1, round(count * _ADJUSTMENT_SHARE)) if count >= 10 else 0
    n_extra = round(count * _EXTRA_GOAL_SHARE) if count >= 10 else 0
    n_primary = count - n_adjust - n_extra
    zone = network.timezone

    weights = np.array([CONVERSION_WEIGHT_BY_STATUS[o.status] for o in offers])
    weights /= weights.sum()
    primary_offer = rng.choice(len(offers), size=n_primary, p=weights)
    primary_at = rng.integers(start, end + 1, size=n_primary)
    carrier = rng.choice(len(CARRIERS), size=n_primary, p=_CARRIER_SHARES)

    # Extra goals ride on an earlier conversion's transaction (same ad_id), preferably on offers with goals.
    with_goals = np.flatnonzero(np.array([offers[i].has_goals for i in primary_offer]))
    candidates = with_goals if len(with_goals) else np.arange(n_primary)
    parent = rng.choice(candidates, size=n_extra) if n_primary else np.zeros(0, dtype=np.int64)
    extra_at = primary_at[parent] + np.maximum(60, rng.exponential(DAY, size=n_extra)).astype(np.int64)

    adjust_offer = rng.choice(len(offers), size=n_adjust, p=weights)
    adjust_at = avoid_ambiguous_local_times(_local_midnights(rng.integers(start, end + 1, size=n_adjust), zone), zone)
    adjust_at = np.maximum(adjust_at, start)

    # Each click precedes its conversion by up to ~6.5 days (inside a 7-day attribution window).
    delay = np.clip(rng.exponential(8 * 3600, size=n_primary), 60, 6.5 * DAY).astype(np.int64)
    clicked_at = np.where(carrier != UNATTRIBUTED, primary_at - delay, -1)
    # Last, so that every draw above is the same with or without a fall-back in the span: primaries
    # carrying their click's id, with no extra goal (whose time follows its primary's), may move.
    movable = (carrier == AD_ID_CLICK) | (carrier == SUB_ID_CLICK)
    movable[parent] = False
    _plant_in_repeated_hours(rng, primary_at, clicked_at, movable, zone, start, end)

    return ConversionPlan(
        network=network,
        offers=offers,
        converted_at=np.concatenate([primary_at, extra_at, adjust_at]).astype(np.int64),
        offer_index=np.concatenate([primary_offer, primary_offer[parent], adjust_offer]).astype(np.int64),
        kind=np.repeat([PRIMARY, EXTRA_GOAL, ADJUSTMENT], [n_primary, n_extra, n_adjust]),
        carrier=np.concatenate([carrier, carrier[parent], np.full(n_adjust, UNATTRIBUTED)]),
        parent=np.concatenate([np.full(n_primary, -1), parent, np.full(n_adjust, -1)]).astype(np.int64),
        clicked_at=np.concatenate([clicked_at, np.full(n_extra + n_adjust, -1)]).astype(np.int64),
    )


@dataclass(frozen=True)
class TracklyRefs:
    """What the Trackly log says about each planned conversion ("" / -1 where it has no click)."""

    click_id: np.ndarray
    message_id: np.ndarray
    creative_id: np.ndarray
    campaign_id: np.ndarray
    all_message_ids: np.ndarray  # to plant decoys and to avoid accidental real ids in junk


def _fill_sub_ids(rng: np.random.Generator, plan: ConversionPlan, refs: TracklyRefs) -> dict[str, np.ndarray]:
    n = len(plan.converted_at)
    configured = plan.network.message_id_field
    subs = {name: np.full(n, "", dtype=object) for name in SUB_ID_FIELDS}
    for name in SUB_ID_FIELDS:
        if name == configured:
            continue
        junk = np.array(_JUNK_BY_FIELD.get(name, _GENERIC_JUNK), dtype=object)
        share = 0.5 if name in _JUNK_BY_FIELD else 0.05
        hit = rng.random(n) < share
        subs[name][hit] = junk[rng.integers(0, len(junk), size=int(hit.sum()))]
    # Decoys: a real message id in a field the network is not configured to read.
    decoy = rng.random(n) < 0.03
    others = [f for f in SUB_ID_FIELDS if f != configured]
    for row in np.flatnonzero(decoy):
        subs[others[int(rng.integers(len(others)))]][row] = refs.all_message_ids[
            int(rng.integers(len(refs.all_message_ids)))
        ]

    carrier, kind = plan.carrier, plan.kind
    target = subs[configured]
    ad_click = (carrier == AD_ID_CLICK) & (kind == PRIMARY)
    echo = ad_click & (rng.random(n) < 0.5)  # some advertisers pass the click id in both places
    target[echo] = refs.click_id[echo]
    sub_click = (carrier == SUB_ID_CLICK) & (kind == PRIMARY)
    target[sub_click] = refs.click_id[sub_click]
    sub_message = (carrier == SUB_ID_MESSAGE) & (kind == PRIMARY)
    target[sub_message] = refs.message_id[sub_message]

    lost = np.flatnonzero((carrier == UNATTRIBUTED) & (kind == PRIMARY))
    garbage = rng.choice(4, size=len(lost), p=(0.4, 0.15, 0.15, 0.3))
    target[lost[garbage == 1]] = "test"
    target[lost[garbage == 2]] = "{" + configured + "}"  # a macro nobody replaced
    not_messages = lost[garbage == 3]
    target[not_messages] = unique_ids(
        rng, len(not_messages), 8, alphabet="base62", taken=set(refs.all_message_ids.tolist())
    )
    target[kind == ADJUSTMENT] = ""

    # Extra goals are the same transaction: same tracking parameters as their first conversion.
    extra = np.flatnonzero(kind == EXTRA_GOAL)
    for values in subs.values():
        values[extra] = values[plan.parent[extra]]
    return subs


def _money(rng: np.random.Generator, plan: ConversionPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sale, payout, revenue) in cents at creation."""
    n = len(plan.converted_at)
    offers = plan.offers
    o = plan.offer_index
    flat = np.array([x.default_payout_cents for x in offers])[o]
    pct = np.array([x.percent_payout for x in offers])[o]
    revenue_flat = np.array([x.revenue_cents for x in offers])[o]
    revenue_pct = np.array([x.revenue_percent for x in offers])[o]
    uses_sale = np.array([x.uses_sale_amount for x in offers])[o]
    pays_per_action = np.array([x.payout_type.startswith("cpa") for x in offers])[o]

    sale = np.where(uses_sale | (rng.random(n) < 0.2), rng.integers(1500, 50_001, size=n), 0)
    payout = np.where(pays_per_action, flat + np.round(sale * pct / 100), 0).astype(np.int64)
    revenue = np.where(pays_per_action, revenue_flat + np.round(sale * revenue_pct / 100), 0).astype(np.int64)
    # Per-affiliate custom payouts: our payout differs from the offer's default.
    custom = (rng.random(n) < 0.08) & (payout > 0)
    payout[custom] = np.round(payout[custom] * rng.uniform(1.1, 1.5, size=int(custom.sum())))

    adjust = plan.kind == ADJUSTMENT
    sale[adjust] = 0
    payout[adjust] = -rng.integers(200, 5001, size=int(adjust.sum()))
    revenue[adjust] = np.round(payout[adjust] * 1.25)
    return sale.astype(np.int64), payout, revenue


def _status_history(
    rng: np.random.Generator, plan: ConversionPlan, payout: np.ndarray, revenue: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Each row's (effective_at, status, payout, revenue) states, sorted by time, plus status_code."""
    n = len(plan.converted_at)
    at = plan.converted_at
    adjust = plan.kind == ADJUSTMENT
    needs_approval = np.array([x.approve_conversions for x in plan.offers])[plan.offer_index] & ~adjust
    rejected_at_once = (rng.random(n) < 0.01) & ~adjust & ~needs_approval

    initial = np.where(needs_approval, PENDING, np.where(rejected_at_once, REJECTED, APPROVED))
    status_code = np.select([adjust, needs_approval, rejected_at_once], [52, 31, 12], default=43).astype(np.int64)

    # Event 1: a pending conversion is approved or rejected 1-6 days later.
    resolve_at = np.where(needs_approval, at + rng.integers(DAY, 6 * DAY, size=n), NEVER)
    resolved = np.where(rng.random(n) < 0.8, APPROVED, REJECTED)
    ends_approved = (initial == APPROVED) | (needs_approval & (resolved == APPROVED))
    # Event 2: refunds reject approved conversions up to 40 days later (often beyond a 7-day lookback).
    refunded = ends_approved & ~adjust & (rng.random(n) < 0.07)
    earliest = np.where(needs_approval, resolve_at, at) + 3600
    refund_at = np.where(refunded, np.maximum(earliest, at + rng.integers(DAY, 40 * DAY, size=n)), NEVER)
    # Event 3: staff edit the payout.
    edited = ~adjust & (payout > 0) & (rng.random(n) < 0.04)
    edit_at = np.where(edited, at + rng.integers(DAY // 2, 10 * DAY, size=n), NEVER)
    edited_payout = np.round(payout * rng.uniform(0.5, 1.5, size=n)).astype(np.int64)

    times = np.stack([at, resolve_at, refund_at, edit_at], axis=1)
    order = np.argsort(times, axis=1, kind="stable")
    state_at = np.take_along_axis(times, order, axis=1)
    state_status = np.empty_like(order, dtype=np.int8)
    state_payout = np.empty_like(order)
    status, current_payout = initial.astype(np.int8), payout.copy()
    for slot in range(order.shape[1]):
        event = order[:, slot]
        status = np.select([event == 0, event == 1, event == 2], [initial, resolved, REJECTED], default=status).astype(
            np.int8
        )
        current_payout = np.where(event == 3, edited_payout, current_payout)
        state_status[:, slot] = status
        state_payout[:, slot] = current_payout
    state_revenue = np.repeat(revenue[:, None], order.shape[1], axis=1)
    return state_at, state_status, state_payout, state_revenue, status_code


def finalize_conversions(rng: np.random.Generator, plan: ConversionPlan, refs: TracklyRefs) -> NetworkConversions:
    network, offers = plan.network, plan.offers
    n = len(plan.converted_at)
    kind, carrier = plan.kind, plan.carrier

    # Truth columns of extra goals follow their first conversion on the transaction.
    extra = np.flatnonzero(kind == EXTRA_GOAL)
    click_id, message_id = refs.click_id.copy(), refs.message_id.copy()
    creative_id, campaign_id = refs.creative_id.copy(), refs.campaign_id.copy()
    clicked_at = plan.clicked_at.copy()
    for column in (click_id, message_id, creative_id, campaign_id, clicked_at):
        column[extra] = column[plan.parent[extra]]
    # A carried message id identifies the message but not which click: the truth has no click.
    message_only = carrier == SUB_ID_MESSAGE
    click_id[message_only] = ""
    clicked_at[message_only] = -1

    ad_id = unique_ids(rng, n, 30).astype("U30")
    ad_click = (carrier == AD_ID_CLICK) & (kind == PRIMARY)
    ad_id[ad_click] = refs.click_id[ad_click]
    ad_id[extra] = ad_id[plan.parent[extra]]

    subs = _fill_sub_ids(rng, plan, refs)
    sale, payout, revenue = _money(rng, plan)
    state_at, state_status, state_payout, state_revenue, status_code = _status_history(rng, plan, payout, revenue)

    goal_id = np.zeros(n, dtype=np.int64)
    goal_id[extra] = rng.integers(1, 6, size=len(extra))
    currency = np.array([o.effective_currency(network) for o in offers])[plan.offer_index]
    offer_id = np.array([o.offer_id for o in offers], dtype=np.int64)[plan.offer_index]
    conversion_id = int(rng.integers(1000, 50_000)) + np.cumsum(rng.integers(1, 4, size=n))
    tune_event_id = unique_ids(rng, n, 32)
    local_seconds, local_text = local_wall_time(plan.converted_at, network.timezone)

    # Stat.id grows with time, as TUNE's auto-increment ids do.
    order = np.lexsort((kind, plan.converted_at))
    return NetworkConversions(
        network=network,
        affiliate_id=np.full(n, int(network.affiliate_id), dtype=np.int64),
        conversion_id=conversion_id.astype(np.int64),
        tune_event_id=tune_event_id[order],
        ad_id=ad_id[order],
        converted_at=plan.converted_at[order],
        local_seconds=local_seconds[order],
        local_text=local_text[order],
        offer_id=offer_id[order],
        goal_id=goal_id[order],
        is_adjustment=(kind == ADJUSTMENT)[order],
        status_code=status_code[order],
        sale_cents=sale[order],
        currency=currency[order],
        sub_ids={name: values[order] for name, values in subs.items()},
        state_at=state_at[order],
        state_status=state_status[order],
        state_payout=state_payout[order],
        state_revenue=state_revenue[order],
        carrier=np.array(CARRIERS)[carrier][order],
        click_id=click_id[order],
        message_id=message_id[order],
        creative_id=creative_id[order],
        campaign_id=campaign_id[order],
        clicked_at=clicked_at[order],
        offer_names={o.offer_id: o.model["name"] for o in offers},
    )
