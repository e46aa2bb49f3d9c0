"""Client-side limiter: at most ``calls`` requests in any sliding ``period`` seconds.

TUNE allows 50 calls per 10 s per network; the default of 40 leaves headroom for other users of
the same network key. A sliding window also stays under a fixed-window server limit, provided
each window is stretched by a small margin: the server counts calls when they *arrive*, and
network latency varies from call to call.
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
        margin: float | None = None,
    ) -> None:
        if calls < 1 or period <= 0:
            raise ValueError(f"rate limit must be at least 1 call per positive period, got {calls}/{period}")
        self.calls = calls
        self.period = period
        # Default margin: 5% of the window (0.5 s for TUNE's 10 s), ample for latency jitter.
        self.margin = period * 0.05 if margin is None else margin
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()  # start times of the most recent calls
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until one more call fits in the window; return the seconds waited."""
        waited = 0.0
        window = self.period + self.margin
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= window:
                    self._sent.popleft()
                if len(self._sent) < self.calls:
                    self._sent.append(now)
                    return waited
                delay = self._sent[0] + window - now
                self._sleep(delay)
                waited += delay
                # The oldest call has left the window now; dropping it explicitly avoids spinning
                # on float rounding when the clock lands a hair before the computed expiry.
                self._sent.popleft()
