"""Materialization metadata a data engineer can read at a glance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb

from trackly_pipeline.defs.partitions import partition_key
from trackly_pipeline.warehouse.database import Warehouse, query_sql_file


def preview(conn: duckdb.DuckDBPyConnection, sql_file: str, params: dict[str, Any] | None = None) -> dg.MetadataValue:
    """A Markdown table of a small query's result (a file in warehouse/sql/)."""
    result = query_sql_file(conn, sql_file, params)
    return dg.MetadataValue.md(markdown_table(result.columns, result.rows))


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) if rows else "(no rows)"


def window_text(start, end) -> str:
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def counts_by_partition(
    conn: duckdb.DuckDBPyConnection, sql_file: str, params: dict[str, Any]
) -> dict[str, dict[str, int]]:
    """Per hourly partition key, the counts of a query (a file in warehouse/sql/) whose first column
    is `hour_us`, an hour as microseconds since 1970 divided by 3,600,000,000 (the UTC hour in any
    session time zone), and whose other columns are counts."""
    result = query_sql_file(conn, sql_file, params)
    columns = result.columns[1:]
    return {
        partition_key(datetime.fromtimestamp(row[0] * 3600, UTC)): dict(zip(columns, row[1:])) for row in result.rows
    }


def add_partition_metadata(
    context: dg.AssetExecutionContext,
    per_partition: Mapping[str, Mapping[str, Any]],
    empty: Mapping[str, Any],
    window: Mapping[str, Any],
) -> None:
    """Give each partition of a run over a range of hours its own figures (`empty` for an hour with
    none), and the window's figures to its last partition only. Dagster copies a MaterializeResult's
    metadata to every partition's materialization: a window's row count returned there showed on
    each of its 168 hours. One materialization per partition, no other event."""
    keys = context.partition_keys
    for key in keys:
        metadata = {**empty, **per_partition.get(key, {})}
        if key == keys[-1]:
            metadata.update(window)
        context.add_asset_metadata(metadata, partition_key=key)


def lake_commits(db: Warehouse) -> dict[str, Any]:
    """On a lake: how many of the step's transactions ran again after a commit conflict (another
    network's run changed the same table first). Nothing on the DuckDB file, whose writers queue."""
    return {"commit_retries": db.commit_retries} if db.lake else {}
