"""The SQL transforms analysts' tables are built with: attribution per network window, then rollups."""

from __future__ import annotations

from datetime import datetime

import duckdb

from trackly_pipeline.warehouse.database import run_sql_file


def attribute_window(
    conn: duckdb.DuckDBPyConnection,
    *,
    network: str,
    message_id_field: str,
    start: datetime,
    end: datetime,
    reporting_currency: str,
    attributed_at: datetime,
) -> dict[str, int]:
    """Rebuild analytics.attributed_conversions for one network's [start, end). Returns the count per
    attribution method. Call inside a transaction."""
    run_sql_file(
        conn,
        "attribute_window.sql",
        {
            "network": network,
            "message_id_field": message_id_field,
            "start": start,
            "end": end,
            "reporting_currency": reporting_currency,
            "attributed_at": attributed_at,
        },
    )
    return dict(
        conn.execute(
            "SELECT attribution_method, count(*) FROM resolved_conversions GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )


def rebuild_rollups(conn: duckdb.DuckDBPyConnection) -> list:
    """Recompute the three daily rollups for every day marked dirty. Returns the days rebuilt."""
    run_sql_file(conn, "rollups.sql")
    return [row[0] for row in conn.execute("SELECT day FROM rollup_days ORDER BY day").fetchall()]
