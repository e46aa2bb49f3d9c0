"""The SQL transforms analysts' tables are built with: attribution per network window, then rollups."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from trackly_pipeline.warehouse.database import run_sql_file
from trackly_pipeline.warehouse.schema import sql_text

MIN_LOOKUP_DAYS = 30
DEFAULT_CLOCK_SKEW_S = 300


def lookup_horizon_days(window_days: int, offer_window_days: Mapping[int, int]) -> int:
    """The farthest any of a network's conversions looks back for clicks and sends, in days (each
    looks back its own offer's window, MIN_LOOKUP_DAYS at least)."""
    return max(MIN_LOOKUP_DAYS, window_days, *offer_window_days.values())


class ReportingCurrencyChanged(RuntimeError):
    """trackly.yaml's reporting_currency differs from the one the warehouse's amounts are in."""


def attribute_window(
    conn: duckdb.DuckDBPyConnection,
    *,
    network: str,
    message_id_field: str,
    start: datetime,
    end: datetime,
    reporting_currency: str,
    attributed_at: datetime,
    window_days: int = 7,
    offer_window_days: Mapping[int, int] | None = None,
    clock_skew_s: int = DEFAULT_CLOCK_SKEW_S,
) -> dict[str, int]:
    """Rebuild analytics.attributed_conversions for one network's [start, end). Returns the count per
    attribution method. Call inside a transaction.

    `clock_skew_s`: how far after a conversion a click or send may be logged and still earn it
    (Trackly's and the network's clocks differ a little)."""
    _require_reporting_currency(conn, reporting_currency)
    windows = offer_window_days or {}
    # Each conversion's lookup horizon is its offer's window, 30 days at least (so an older click still
    # explains an unattributed conversion): per conversion, not per run, so a conversion is attributed
    # alike by an hourly run, the wide sweep and any backfill, and whatever other offers' windows are.
    # The run reads clicks from the earliest horizon of its window on.
    lookup_days = lookup_horizon_days(window_days, windows)
    conn.register(
        "attribution_windows",
        pa.table(
            {"offer_id": pa.array(list(windows), pa.int64()), "days": pa.array(list(windows.values()), pa.int32())}
        ),
    )
    try:
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
                "default_window_days": window_days,
                "min_horizon_days": MIN_LOOKUP_DAYS,
                "skew_us": clock_skew_s * 1_000_000,
                "lookup_start": start - timedelta(days=lookup_days),
            },
        )
    finally:
        conn.unregister("attribution_windows")
    return dict(conn.execute(sql_text("attribution_methods.sql"), {"network": network}).fetchall())


def _require_reporting_currency(conn: duckdb.DuckDBPyConnection, currency: str) -> None:
    """Attribution rewrites only its window: in another currency, the days outside it would keep
    the old one and the rollups (which have no currency column) would add the two."""
    rows = conn.execute(sql_text("attribution_other_currency.sql"), {"currency": currency}).fetchall()
    if rows:
        ((other, conversions),) = rows
        raise ReportingCurrencyChanged(
            f"reporting_currency is {currency} in the config, but {conversions:,} attributed conversions are in "
            f"{other}: the rollups would add the two. Set it back, or rebuild the warehouse in {currency} "
            "(README, Upgrading)"
        )


def rebuild_rollups(conn: duckdb.DuckDBPyConnection) -> list:
    """Recompute the three daily rollups for every day marked dirty. Returns the days rebuilt."""
    run_sql_file(conn, "rollups.sql")
    return [row[0] for row in conn.execute(sql_text("rollups_days.sql")).fetchall()]
