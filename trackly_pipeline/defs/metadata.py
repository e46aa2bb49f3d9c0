"""Materialization metadata a data engineer can read at a glance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
import duckdb


def preview(conn: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any] | None = None) -> dg.MetadataValue:
    """A Markdown table of a small query's result."""
    cursor = conn.execute(query, params or {})
    columns = [d[0] for d in cursor.description]
    return dg.MetadataValue.md(markdown_table(columns, cursor.fetchall()))


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) if rows else "(no rows)"


def window_text(start, end) -> str:
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
