"""The network-local wall times a report asks TUNE for, for a half-open UTC window.

TUNE filters Stat.datetime on network-local "YYYY-MM-DD HH:MM:SS" with an inclusive BETWEEN; a
zone's fall-back repeats an hour of wall times, so the range asked for is widened over any
repeated hour it touches (`ReportWindow.of`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from .values import TUNE_DATETIME_FORMAT


def whole_seconds_within(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """First and last whole second inside [start, end)."""
    first = start.replace(microsecond=0)
    if first < start:
        first += timedelta(seconds=1)
    last = end.replace(microsecond=0)
    if last == end:
        last -= timedelta(seconds=1)
    return first, last


# No zone changes its UTC offset twice within this long (tzdata's closest changes are weeks apart).
_OFFSET_PROBE = timedelta(hours=1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class ReportWindow:
    """What a report asks TUNE for: Stat.datetime BETWEEN two network-local wall times (inclusive)
    holding the wall time of every whole second of a UTC range; and the instants rows inside them
    read as (`values.local_to_utc`: a repeated wall time, the later of its two)."""

    zone: ZoneInfo
    first: str  # "YYYY-MM-DD HH:MM:SS", network-local
    last: str
    earliest: datetime  # UTC: what `first` reads as
    latest: datetime  # UTC: what `last` reads as

    @classmethod
    def of(cls, first: datetime, last: datetime, zone: ZoneInfo) -> ReportWindow:
        """The wall times of [first, last] (whole seconds), widened over any repeated hour they touch.

        The wall clock runs with UTC but jumps at each offset change, back at a fall-back: the lowest
        and highest wall time are those of the two ends or those just before and at a change inside.
        A range that reaches into a repeated hour must hold all of it, both occurrences: a wall time
        there reads as its later instant, possibly outside [first, last] while the other reading is
        inside (or the reverse). So the range grows to every instant any of its wall times can be,
        until that adds nothing. An end still in a repeated hour then moves one second past it, to
        a wall time that happens once: how TUNE itself reads repeated times is not documented
        (comparing wall times, as the sandbox does, or converting the two bounds to instants), and
        with bounds that happen once every reading asks for the same rows."""
        low_at, high_at = first, last
        while True:
            low, high = _wall_range(low_at, high_at, zone)
            wider = min(low_at, _reading(low, zone, fold=0)), max(high_at, _reading(high, zone, fold=1))
            if wider == (low_at, high_at):
                break
            low_at, high_at = wider
        if _reading(low, zone, fold=0) != _reading(low, zone, fold=1):
            low = _wall_time(low_at - _SECOND, zone)
        if _reading(high, zone, fold=0) != _reading(high, zone, fold=1):
            high = _wall_time(high_at + _SECOND, zone)
        # Later readings grow with the wall time: a row reads as an instant in [earliest, latest]
        # exactly when its wall time is in [low, high].
        return cls(
            zone,
            low.strftime(TUNE_DATETIME_FORMAT),
            high.strftime(TUNE_DATETIME_FORMAT),
            _reading(low, zone, fold=1),
            _reading(high, zone, fold=1),
        )

    def filter(self) -> dict[str, Any]:
        return {"Stat.datetime": {"conditional": "BETWEEN", "values": [self.first, self.last]}}

    def outside(self, converted_at: datetime) -> str | None:
        """Why a row read as `converted_at` is not stored, or None: its wall time is outside the
        range asked for, so TUNE ignored the filter (the row is quarantined, not stored)."""
        if self.earliest <= converted_at <= self.latest:
            return None
        local = converted_at.astimezone(self.zone).strftime(TUNE_DATETIME_FORMAT)
        return (
            f"Stat.datetime is outside the requested window ({self.first!r} to {self.last!r}, network time; "
            f"TUNE ignored the filter): {local!r}"
        )

    def holds(self, converted_at: pa.ChunkedArray | pa.Array) -> bool:
        """Whether every time of a parsed page is inside (`outside` is None for each)."""
        if len(converted_at) == 0:
            return True
        bounds = pc.min_max(converted_at)
        return self.earliest <= bounds["min"].as_py() and bounds["max"].as_py() <= self.latest


def _wall_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """The network-local wall time (naive) of an instant."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _reading(wall: datetime, zone: ZoneInfo, *, fold: int) -> datetime:
    """The UTC instant a wall time is: fold=0 the earlier of a repeated time's two, fold=1 the later."""
    return wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def _wall_range(first: datetime, last: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The lowest and highest wall time of the whole seconds in [first, last]."""
    walls = [_wall_time(first, zone), _wall_time(last, zone)]
    for change in _offset_changes(first, last, zone):
        walls += [_wall_time(change - _SECOND, zone), _wall_time(change, zone)]
    return min(walls), max(walls)


def _offset_changes(first: datetime, last: datetime, zone: ZoneInfo) -> Iterator[datetime]:
    """The whole seconds in (first, last] at which the zone's UTC offset changes: probed every
    _OFFSET_PROBE, then found to the second by bisection."""
    probe, offset = first, first.astimezone(zone).utcoffset()
    while probe < last:
        following = min(probe + _OFFSET_PROBE, last)
        following_offset = following.astimezone(zone).utcoffset()
        if following_offset != offset:
            before, at = probe, following
            while at - before > _SECOND:
                middle = before + timedelta(seconds=int((at - before).total_seconds()) // 2)
                if middle.astimezone(zone).utcoffset() == offset:
                    before = middle
                else:
                    at = middle
            yield at
        probe, offset = following, following_offset
