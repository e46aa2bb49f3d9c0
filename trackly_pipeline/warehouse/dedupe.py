"""`trackly network dedupe KEY`: keep one row per conversion of a network, the repair for a
conversion stored more than once where no sweep reaches it (duplicates.py). The rule for which row
stays is in sql/conversions_dedupe.sql; what it removes is kept in ops.removed_duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from trackly_pipeline.warehouse.database import run_sql_file


@dataclass(frozen=True)
class Deduped:
    conversions: int  # rows removed from tune.conversions
    attributions: int  # rows removed from analytics.attributed_conversions
    days: list[date]  # UTC days rolled up again by the next run


def dedupe_network(conn: duckdb.DuckDBPyConnection, network: str, removed_at: datetime) -> Deduped:
    """Remove every row but one of each conversion `network` stores more than once, mark their days
    for the rollups and their months for publishing. Call inside a transaction."""
    run_sql_file(conn, "conversions_dedupe.sql", {"network": network, "removed_at": removed_at})
    conversions, attributions = conn.execute(
        "SELECT (SELECT count(*) FROM removed_conversions), (SELECT count(*) FROM removed_attributions)").fetchone()
    days = [day for (day,) in conn.execute("SELECT day FROM deduped_days ORDER BY day").fetchall()]
    return Deduped(conversions, attributions, days)
