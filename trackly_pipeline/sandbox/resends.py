"""Re-sends: conversions the sandbox's TUNE serves, for a day after the world's anchor, with one value
spelled differently from the canonical form: mostly a value a reader must reject, once a harmless one.

What a real network does when a report cache or a staff edit leaves a malformed value on a
conversion it reported fine before (tune-api.md 2.1: "Parse defensively"):

- `payout_6_decimals`, `sale_amount_6_decimals`: the amount with a sixth decimal ("12.340001");
  DECIMAL(18, 5) would round it, so the row is unreadable;
- `sub_id_lone_surrogate`: the network's message-id sub field ends with a lone surrogate (JSON
  "\\ud800"), text UTF-8 cannot hold: unreadable;
- `status_capitalized`: "Approved" for "approved", harmless: read as the status it names.

The pipeline must keep a stored conversion it gets back unreadable at its last good state, not take
it for vanished; the ground truth (`last_good_states`, used by truth.conversions_frame) says that
state. After the period the conversion is served readably again, in its state at the clock.

Planned per network, deterministically from the world's seed on a random stream of its own, once
the rest of the world exists, so no other value changes:

- among our affiliate's conversions converted between 4 days and 2 hours before the anchor: the
  sweep at the anchor stores them, and the 7-day sweeps of the period still cover them;
- with no status or payout change between the anchor and the start of their period, so the last
  good state is the one any sweep from the anchor on stored (the ground truth assumes the pipeline
  swept once between the anchor and the period's start: the demo's sync, or hourly runs);
- periods start 13 to 20 hours after the anchor (after the demo's sync at the anchor and after the
  12 hours some tests move the clock) and last a day, all over before the anchor + future_days - 12 h,
  so a reader whose clock is past the world's last conversion reads every row readably;
- the first one prefers a conversion whose status or payout changes during its period: TUNE's state
  moves on while the pipeline can only hold the old one.

A world with fewer than RESEND_MIN_FUTURE_DAYS future days has none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from .conversions import NetworkConversions

HOUR, DAY = 3600, 86_400
RESEND_MIN_FUTURE_DAYS = 3

# (kind, readable): in planning order; each network gets one of each.
RESEND_KINDS: tuple[tuple[str, bool], ...] = (
    ("payout_6_decimals", False),
    ("sub_id_lone_surrogate", False),
    ("sale_amount_6_decimals", False),
    ("status_capitalized", True),
)
_READABLE = dict(RESEND_KINDS)
_FIRST_START = 13 * HOUR  # after the anchor
_START_STEP = 2 * HOUR  # between the kinds' periods
_PERIOD = DAY
_CONVERTED_FROM, _CONVERTED_UNTIL = 4 * DAY, 2 * HOUR  # before the anchor


@dataclass(frozen=True)
class Resend:
    """Conversion `conversion_id` is served the `kind` way while the clock is in [start, end)."""

    conversion_id: int
    kind: str
    start: int  # UTC epoch seconds
    end: int

    @property
    def readable(self) -> bool:
        return _READABLE[self.kind]

    def active(self, clock_seconds: int) -> bool:
        return self.start <= clock_seconds < self.end


def plan_resends(
    rng: np.random.Generator, table: NetworkConversions, anchor: datetime, future_days: int
) -> NetworkConversions:
    """`table` with its re-sends (`NetworkConversions.resends`), one per RESEND_KINDS when candidates exist."""
    if future_days < RESEND_MIN_FUTURE_DAYS:
        return table
    base = int(anchor.timestamp())
    ours = table.ours(np.arange(len(table)))
    at = table.converted_at[ours]
    recent = ours[(at >= base - _CONVERTED_FROM) & (at <= base - _CONVERTED_UNTIL)]
    changes = table.state_at[recent, 1:]  # later status-history events (NEVER when unused)
    free = np.ones(len(recent), dtype=bool)
    resends = []
    for position, (kind, _) in enumerate(RESEND_KINDS):
        start = base + _FIRST_START + position * _START_STEP + int(rng.integers(0, HOUR))
        end = start + _PERIOD
        quiet = ~((changes > base) & (changes <= start)).any(axis=1)
        candidates = np.flatnonzero(quiet & free)
        if position == 0:
            moving = candidates[((changes[candidates] > start) & (changes[candidates] < end)).any(axis=1)]
            candidates = moving if len(moving) else candidates
        if not len(candidates):
            continue
        pick = int(rng.choice(candidates))
        free[pick] = False
        resends.append(Resend(int(table.conversion_id[recent[pick]]), kind, start, end))
    return replace(table, resends=tuple(resends))


def serve_resends(table: NetworkConversions, clock_seconds: int, rows: np.ndarray, rendered: list[dict]) -> None:
    """Respell, in place, the rendered Report::getConversions rows (`rows`: their table indexes) of
    conversions in a re-send period at the clock. Fields the request did not ask for stay missing."""
    active = {r.conversion_id: r.kind for r in table.resends if r.active(clock_seconds)}
    if not active:
        return
    ids = table.conversion_id[np.asarray(rows, dtype=np.int64)]
    for position in np.flatnonzero(np.isin(ids, list(active))).tolist():
        _respell(rendered[position], active[int(ids[position])], table.network.message_id_field)


def _respell(row: dict, kind: str, message_id_field: str) -> None:
    model, attribute = {
        "payout_6_decimals": ("Stat", "payout"),
        "sale_amount_6_decimals": ("Stat", "sale_amount"),
        "status_capitalized": ("Stat", "status"),
        "sub_id_lone_surrogate": _report_field(message_id_field),
    }[kind]
    fields = row.get(model)
    if not isinstance(fields, dict) or attribute not in fields:
        return
    value = fields[attribute]
    if kind == "status_capitalized":
        fields[attribute] = value.capitalize()
    elif kind == "sub_id_lone_surrogate":
        fields[attribute] = value + "\ud800"
    else:
        fields[attribute] = value + "1"  # TUNE renders five decimals: "12.34000" -> "12.340001"


def _report_field(sub_field: str) -> tuple[str, str]:
    """The (model, attribute) Report::getConversions carries a sub-id field in (report_api.REPORT_FIELDS)."""
    if sub_field == "source":
        return "Stat", "source"
    if sub_field.startswith("affiliate_unique"):
        return "ConversionsMobile", sub_field
    return "Stat", f"affiliate_info{sub_field.removeprefix('aff_sub') or '1'}"


def last_good_states(
    table: NetworkConversions,
    rows: np.ndarray,
    clock_seconds: int,
    status: np.ndarray,
    payout: np.ndarray,
    revenue: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(status, payout, revenue) of `rows` as the pipeline holds them at the clock, given their state
    at the clock: a conversion served unreadable then keeps its state from just before its period."""
    held = [r for r in table.resends if not r.readable and r.active(clock_seconds)]
    if not held:
        return status, payout, revenue
    status, payout, revenue = status.copy(), payout.copy(), revenue.copy()
    ids = table.conversion_id[rows]
    for resend in held:
        hit = np.flatnonzero(ids == resend.conversion_id)
        if len(hit):
            status[hit], payout[hit], revenue[hit] = table.state_at_clock(rows[hit], resend.start - 1)
    return status, payout, revenue
