"""The sandbox's notion of "now": conversions later than it are not visible yet."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to it."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class SandboxClock:
    """A settable clock shared by the world and the HTTP threads (hence the lock).

    Frozen by default (tests move it by hand). A clock that follows the wall clock keeps ticking
    from the time it was last set, so a long-running sandbox (`trackly sandbox serve`) shows new
    conversions and status changes as the hours go by, the way a real network does."""

    def __init__(self, now: datetime, *, follow_wall_clock: bool = False) -> None:
        self._lock = threading.Lock()
        self._now = as_utc(now)
        self._set_at = time.monotonic()
        self.follow_wall_clock = follow_wall_clock

    def now(self) -> datetime:
        with self._lock:
            return self._current()

    def _current(self) -> datetime:
        if not self.follow_wall_clock:
            return self._now
        return self._now + timedelta(seconds=time.monotonic() - self._set_at)

    def set(self, moment: datetime) -> datetime:
        with self._lock:
            self._now, self._set_at = as_utc(moment), time.monotonic()
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now, self._set_at = self._current() + delta, time.monotonic()
            return self._now

    def epoch_seconds(self) -> int:
        return int(self.now().timestamp())

    def __repr__(self) -> str:
        return f"SandboxClock({self.now().isoformat()})"
