"""Client-side limiter: at most ``calls`` requests in any sliding ``period`` seconds.

TUNE allows 50 calls per 10 s per network; the default of 40 leaves headroom for other users of
the same network key. A sliding window also stays under a fixed-window server limit.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        calls: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls < 1 or period <= 0:
            raise ValueError(f"rate limit must be at least 1 call per positive period, got {calls}/{period}")
        self.calls = calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()  # start times of the most recent calls
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until one more call fits in the window; return the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.period:
                    self._sent.popleft()
                if len(self._sent) < self.calls:
                    self._sent.append(now)
                    return waited
                delay = self._sent[0] + self.period - now
                self._sleep(delay)
                waited += delay
