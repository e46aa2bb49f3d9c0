"""The `@dg.asset` arguments the project's assets share: their group, their concurrency pool, what
kind of step they are, and, for the hourly ones, their partitions and single-run backfills."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import dagster as dg

from trackly_pipeline.config import TracklyConfig

# The steps that write the DuckDB file: limited to 1 in dagster.yaml, as DuckDB takes one writer
# process at a time.
DUCKDB_POOL = "duckdb"
# On a lake (warehouse.backend: ducklake), the steps of every network's own tables, one pool per
# network, and those of the shared tables (Trackly's logs, the rollups, the payout mismatches).
LAKE_POOL_PREFIX = "lake_"
LAKE_SHARED_POOL = "lake_shared"
ANALYTICS_GROUP = "analytics"
TRACKLY_GROUP = "trackly"
API_KINDS = frozenset({"duckdb", "api"})
SQL_KINDS = frozenset({"duckdb", "sql"})


def warehouse_pool(settings: TracklyConfig, network_key: str | None = None) -> str:
    """The concurrency pool of a step that works in the warehouse (`network_key`: a network's own
    step). The DuckDB file takes one writing process at a time: every such step is in `duckdb`. A
    lake takes writers from many processes: networks write at once and meet only at commit
    (Warehouse.write), each network's steps one at a time in `lake_<key>`, as its runs are."""
    if settings.lake is None:
        return DUCKDB_POOL
    return f"{LAKE_POOL_PREFIX}{network_key}" if network_key else LAKE_SHARED_POOL


def network_group(network_key: str) -> str:
    return f"tune_{network_key}"


def asset_args(
    group: str, kinds: Collection[str], pool: str, partitions: dg.PartitionsDefinition | None = None
) -> dict[str, Any]:
    """Hourly assets (`partitions`) backfill in one run: a run sweeps its whole range of hours with
    one API sweep (defs/partitions.py)."""
    args: dict[str, Any] = {"group_name": group, "kinds": set(kinds), "pool": pool}
    if partitions is not None:
        args |= {"partitions_def": partitions, "backfill_policy": dg.BackfillPolicy.single_run()}
    return args
