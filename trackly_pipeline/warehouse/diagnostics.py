"""Payout-mismatch diagnosis: analytics.payout_mismatches, rebuilt from tune.conversions,
tune.offers, tune.offer_changes and ops.sync_log (payout_mismatches.sql)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from trackly_pipeline.warehouse.database import run_sql_file
from trackly_pipeline.warehouse.schema import sql_text

CAUSES = ("currency", "payout type", "stale offer sync", "custom payout per affiliate")
# Causes someone should act on: re-sync the offers, or fix the offer's/network's currency.
ACTIONABLE_CAUSES = ("stale offer sync", "currency")


def rebuild_payout_mismatches(conn: duckdb.DuckDBPyConnection, computed_at: datetime) -> dict[str, int]:
    """Rebuild the table; returns the conversions paid differently per likely cause. Call inside a
    transaction."""
    run_sql_file(conn, "payout_mismatches.sql", {"computed_at": computed_at})
    rows = conn.execute(sql_text("payout_mismatches_by_cause.sql")).fetchall()
    counts = dict.fromkeys(CAUSES, 0)
    counts.update({cause: int(n) for cause, n in rows})
    return counts
