"""The whole suite's ordering under pytest-xdist (`./run test` runs it on every core)."""

from __future__ import annotations

import pytest

# `postgres_database`: a database of its own on the test PostgreSQL server, for the tests marked `postgres`.
pytest_plugins = ["trackly_pipeline_tests.postgres"]


def expected_length(item: pytest.Item) -> int:
    """Longest first: slow tests, then the Dagster tests (real syncs, seconds each), then the rest."""
    if item.get_closest_marker("slow"):
        return 0
    return 1 if "/defs/" in item.nodeid else 2


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Only on xdist workers: a worker that starts a minute-long test last keeps the others idle, so
    # long tests go first and short ones fill the end. A serial run keeps pytest's order, which keeps
    # each module's tests (and its module-scoped fixtures) together.
    if hasattr(config, "workerinput"):
        items.sort(key=expected_length)
