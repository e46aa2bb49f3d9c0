"""Counts an asset reports in its materialization's metadata, each a SQL file in sql/."""

from __future__ import annotations

import duckdb

from trackly_pipeline.warehouse.database import query_sql_file


def offers_changed(conn: duckdb.DuckDBPyConnection, sync_id: str) -> int:
    """How many offers the offer sync `sync_id` recorded a change of."""
    return query_sql_file(conn, "offer_changes_of_sync.sql", {"sync_id": sync_id}).rows[0][0]


def payout_mismatch_rows(conn: duckdb.DuckDBPyConnection) -> int:
    return query_sql_file(conn, "payout_mismatches_count.sql").rows[0][0]
