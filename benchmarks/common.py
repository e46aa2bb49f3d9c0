"""What every benchmark shares: where results go, the sizes of a full and a quick run, and the
median of repeated timings."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
UTC = UTC


@dataclass(frozen=True)
class Sizes:
    repeats: int
    conversions: int  # ingest: conversions captured from the sandbox
    page_size: int
    attr_conversions: int  # attribution: conversions in the 7-day window
    attr_clicks: int  # ... against this many clicks
    growth_clicks_per_day: int
    growth_conversions_per_day: int
    dagster_conversions: int  # per network, in the sandbox world of the Dagster row


FULL = Sizes(5, 1_000_000, 5_000, 1_000_000, 50_000_000, 60_000, 6_000, 3_000)
QUICK = Sizes(2, 20_000, 5_000, 10_000, 500_000, 2_000, 200, 300)


def median_time(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
