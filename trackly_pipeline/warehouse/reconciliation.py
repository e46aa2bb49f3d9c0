"""Reconciliation with TUNE's own totals: our tune.conversions aggregated like Report::getStats
(per network-local day, offer and currency) against what getStats says, into ops.reconciliation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from trackly_pipeline.tune.stats import DailyOfferStat
from trackly_pipeline.warehouse.database import run_sql_file
from trackly_pipeline.warehouse.schema import sql_text

# Counts must agree exactly; money within this amount per (day, offer, currency), in that currency.
PAYOUT_TOLERANCE = Decimal("0.01")
# At most this many full network-local days (the most recent) of the last synced window are compared.
MAX_DAYS = 7

STATS_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),
        ("offer_id", pa.int64()),
        ("currency", pa.string()),
        ("conversions", pa.int64()),
        ("payout", pa.decimal128(18, 5)),
    ]
)

# The columns of reconciliation_differences.sql, in its order.
DIFFERENCE_COLUMNS = (
    "day",
    "offer_id",
    "currency",
    "tune_conversions",
    "our_conversions",
    "tune_payout",
    "our_payout",
    "payout_difference",
)


@dataclass(frozen=True)
class DayRange:
    """Network-local days first..last (inclusive) and the UTC instants that bound them."""

    first_day: date
    last_day: date
    start: datetime  # local midnight of first_day, in UTC
    end: datetime  # local midnight after last_day, in UTC
    timezone: str


@dataclass(frozen=True)
class Reconciliation:
    days: DayRange
    groups: int  # (day, offer, currency) groups compared
    differences: list[tuple]  # DIFFERENCE_COLUMNS, ordered by day, offer, currency

    @property
    def differing_days(self) -> list[date]:
        return sorted({row[0] for row in self.differences})


def local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(zone)).astimezone(UTC)


def full_local_days(start: datetime, end: datetime, zone: str, max_days: int = MAX_DAYS) -> DayRange | None:
    """The last `max_days` network-local days lying wholly inside the UTC window [start, end), or
    None when no whole day fits."""
    tz = ZoneInfo(zone)
    first = start.astimezone(tz).date()
    if local_midnight(first, zone) < start:
        first += timedelta(days=1)
    last = end.astimezone(tz).date() - timedelta(days=1)  # the day before the one `end` falls in
    if local_midnight(last + timedelta(days=1), zone) > end:
        last -= timedelta(days=1)
    first = max(first, last - timedelta(days=max_days - 1))
    if first > last:
        return None
    return DayRange(first, last, local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone), zone)


def last_synced_window(conn: duckdb.DuckDBPyConnection, network: str) -> tuple[datetime, datetime] | None:
    """The UTC window of the network's latest successful conversion sync."""
    rows = conn.execute(sql_text("sync_log_last_swept_window.sql"), {"network": network}).fetchall()
    return tuple(rows[0]) if rows else None


def reconcile(
    conn: duckdb.DuckDBPyConnection,
    network: str,
    days: DayRange,
    stats: Iterable[DailyOfferStat],
    *,
    checked_at: datetime,
    tolerance: Decimal = PAYOUT_TOLERANCE,
) -> Reconciliation:
    """Compare and replace the network's rows of ops.reconciliation. Call inside a transaction."""
    table = pa.Table.from_pylist(
        [
            {
                "day": s.day,
                "offer_id": s.offer_id,
                "currency": s.currency,
                "conversions": s.conversions,
                "payout": s.payout,
            }
            for s in stats
        ],
        schema=STATS_SCHEMA,
    )
    conn.register("tune_stats", table)
    try:
        run_sql_file(
            conn,
            "reconcile_stats.sql",
            {
                "network": network,
                "tz": days.timezone,
                "start": days.start,
                "end": days.end,
                "first_day": days.first_day,
                "last_day": days.last_day,
                "tolerance": tolerance,
                "checked_at": checked_at,
            },
        )
    finally:
        conn.unregister("tune_stats")
    groups = conn.execute(sql_text("reconciliation_groups.sql"), {"network": network}).fetchall()[0][0]
    differences = conn.execute(sql_text("reconciliation_differences.sql"), {"network": network}).fetchall()
    return Reconciliation(days, groups, differences)


def day_list(days: Sequence[date]) -> str:
    return ", ".join(day.isoformat() for day in days)
