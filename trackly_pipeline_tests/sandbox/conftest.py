"""Shared fixtures: one small world per session, a fresh server per test, and a TUNE caller."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trackly_pipeline.sandbox import SandboxServer, SandboxWorld

from .tunecalls import Tune

ANCHOR = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="session")
def world() -> SandboxWorld:
    """Read-only for tests: tests that move the clock build their own world."""
    return SandboxWorld.generate(seed=5, anchor=ANCHOR, history_days=20, conversions_per_network=600)


@pytest.fixture
def server(world):
    with SandboxServer(world) as running:
        yield running


@pytest.fixture
def tune(server) -> Tune:
    return Tune(server)
