"""A sandbox clock can follow the wall clock, so a long-running sandbox changes like a network."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from trackly_pipeline.sandbox import SandboxClock

START = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_frozen_clock_stays_put():
    clock = SandboxClock(START)
    time.sleep(0.05)
    assert clock.now() == START


def test_following_clock_ticks_from_where_it_was_set():
    clock = SandboxClock(START, follow_wall_clock=True)
    time.sleep(0.05)
    assert START + timedelta(seconds=0.04) < clock.now() < START + timedelta(seconds=5)
    clock.set(START)
    assert clock.now() - START < timedelta(seconds=1)
    advanced = clock.advance(timedelta(hours=2))
    assert advanced >= START + timedelta(hours=2)
    assert clock.now() >= advanced
