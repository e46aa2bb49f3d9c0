"""TUNE's per-network call limit: fixed windows of N calls per S seconds (50 per 10 s by default)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class FixedWindowLimiter:
    def __init__(self, calls: int, seconds: float, now: Callable[[], float] = time.monotonic) -> None:
        self.calls = calls
        self.seconds = seconds
        self._now = now
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, calls so far)

    def hit(self, key: str) -> int:
        """Count one call; returns the usage in the current window (over `calls` = refused).

        Refused calls count too, as TUNE's "Your usage: 51" shows.
        """
        with self._lock:
            now = self._now()
            started, used = self._windows.get(key, (now, 0))
            if now - started >= self.seconds:
                started, used = now, 0
            used += 1
            self._windows[key] = (started, used)
            return used

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
