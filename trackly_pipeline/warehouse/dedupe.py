"""`trackly network dedupe KEY`: keep one row per conversion of a network, the repair for a
conversion stored more than once where no sweep reaches it (duplicates.py). The rule for which row
stays is in sql/conversions_dedupe.sql; what it removes is kept in ops.removed_duplicates. The
deduped conversions are then attributed again from the rows kept: the attribution left may have been
built from a copy just removed, and no attribution window reaches a stuck duplicate again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from trackly_pipeline.warehouse.database import run_sql_file
from trackly_pipeline.warehouse.schema import sql_text

# Attributes the network's conversions of [start, end) in the caller's transaction (attribute_window
# with the network's settings, as the attribution asset calls it).
Reattribute = Callable[[datetime, datetime], object]


@dataclass(frozen=True)
class Deduped:
    conversions: int  # rows removed from tune.conversions
    attributions: int  # rows removed from analytics.attributed_conversions
    days: list[date]  # UTC days rolled up again by the next run
    reattributed_hours: int  # hours of the kept rows attributed again


def dedupe_network(
    conn: duckdb.DuckDBPyConnection, network: str, removed_at: datetime, reattribute: Reattribute
) -> Deduped:
    """Remove every row but one of each conversion `network` stores more than once, attribute the
    hours of the rows kept again (`reattribute`), mark their days for the rollups and their months
    for publishing. Call inside a transaction."""
    run_sql_file(conn, "conversions_dedupe.sql", {"network": network, "removed_at": removed_at})
    ((conversions, attributions),) = conn.execute(sql_text("conversions_dedupe_removed.sql")).fetchall()
    days = [day for (day,) in conn.execute(sql_text("conversions_dedupe_days.sql")).fetchall()]
    hours = [
        hour for (hour,) in conn.execute(sql_text("conversions_dedupe_hours.sql"), {"network": network}).fetchall()
    ]
    for hour in hours:
        reattribute(hour, hour + timedelta(hours=1))
    return Deduped(conversions, attributions, days, len(hours))
