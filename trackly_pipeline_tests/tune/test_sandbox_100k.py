"""The client reads back exactly the sandbox's ground truth for a 100,000-conversion window.

Kept apart from test_sandbox_integration.py because generating the 100k world takes the
sandbox tens of seconds on its own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SandboxServer, SandboxWorld

from .sandbox_support import everything, mismatches, sandbox_client, truth_in_window

pytestmark = pytest.mark.slow

CONVERSIONS = 100_000


def test_100k_conversion_window_matches_ground_truth_exactly():
    network = DEFAULT_NETWORKS[0]
    started = time.perf_counter()
    world = SandboxWorld.generate(seed=7, conversions_per_network=CONVERSIONS, networks=(network,))
    # Move the sandbox clock past the last generated conversion so every one is visible.
    last = datetime.fromtimestamp(int(world.conversions(network.network_id).converted_at.max()), UTC)
    world.clock.set(last + timedelta(hours=1))
    generated = time.perf_counter()
    start, end = everything(world)
    truth = truth_in_window(world, network.network_id, start, end)
    assert len(truth) == CONVERSIONS

    with SandboxServer(world, port=0) as server:
        client = sandbox_client(server, world, network.network_id, timezone=None)
        read_started = time.perf_counter()
        batches = list(client.iter_conversion_batches(start, end))
        read_seconds = time.perf_counter() - read_started

    conversions = [c for b in batches for c in b.conversions]
    assert [b.page for b in batches] == list(range(1, 21))  # 100,000 / 5,000 per page
    assert all(b.rejected == [] for b in batches)
    assert mismatches(conversions, truth) == []
    print(
        f"\n100k window: sandbox world generated in {generated - started:.1f}s; client read "
        f"{len(conversions):,} conversions in {len(batches)} pages in {read_seconds:.2f}s "
        f"({len(conversions) / read_seconds:,.0f} rows/s, HTTP + JSON + parsing + validation)"
    )
