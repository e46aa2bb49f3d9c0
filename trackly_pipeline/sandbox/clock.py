"""The sandbox's notion of "now": conversions later than it are not visible yet."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to it."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class SandboxClock:
    """A settable clock shared by the world and the HTTP threads (hence the lock)."""

    def __init__(self, now: datetime) -> None:
        self._lock = threading.Lock()
        self._now = as_utc(now)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> datetime:
        with self._lock:
            self._now = as_utc(moment)
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now

    def epoch_seconds(self) -> int:
        return int(self.now().timestamp())

    def __repr__(self) -> str:
        return f"SandboxClock({self.now().isoformat()})"
