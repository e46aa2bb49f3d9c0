"""The `@dg.asset` arguments the project's assets share: their group, their concurrency pool, what
kind of step they are, and, for the hourly ones, their partitions and single-run backfills."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import dagster as dg

# The steps that write the DuckDB file: limited to 1 in dagster.yaml, as DuckDB takes one writer
# process at a time.
DUCKDB_POOL = "duckdb"
ANALYTICS_GROUP = "analytics"
TRACKLY_GROUP = "trackly"
API_KINDS = frozenset({"duckdb", "api"})
SQL_KINDS = frozenset({"duckdb", "sql"})


def network_group(network_key: str) -> str:
    return f"tune_{network_key}"


def asset_args(
    group: str, kinds: Collection[str], pool: str = DUCKDB_POOL, partitions: dg.PartitionsDefinition | None = None
) -> dict[str, Any]:
    """Hourly assets (`partitions`) backfill in one run: a run sweeps its whole range of hours with
    one API sweep (defs/partitions.py)."""
    args: dict[str, Any] = {"group_name": group, "kinds": set(kinds), "pool": pool}
    if partitions is not None:
        args |= {"partitions_def": partitions, "backfill_policy": dg.BackfillPolicy.single_run()}
    return args
