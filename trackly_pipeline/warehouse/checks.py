"""What the asset checks (defs/checks.py, defs/assets/payout_mismatches.py) read of the warehouse:
each rule is a SQL file in sql/ (check_*.sql, sync_freshness.sql); the thresholds and the verdicts
stay with the checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import duckdb

from trackly_pipeline.warehouse.database import QueryResult, query_sql_file


class Freshness(NamedTuple):
    """The newest hour a network's data reached at each stage (None: never), see sync_freshness.sql."""

    swept: datetime | None
    attributed: datetime | None
    published: datetime | None
    published_since: datetime | None


def freshness(conn: duckdb.DuckDBPyConnection, network: str) -> Freshness:
    return Freshness(*query_sql_file(conn, "sync_freshness.sql", {"network": network}).rows[0])


@dataclass(frozen=True)
class HeldConversions:
    count: int
    # The oldest held, with the latest reason TUNE's copy was unreadable.
    oldest: QueryResult


def held_conversions(conn: duckdb.DuckDBPyConnection, network: str, limit: int) -> HeldConversions:
    """A network's conversions held at their last good state: how many, and the `limit` oldest."""
    oldest = query_sql_file(conn, "check_held_conversions.sql", {"network": network, "limit": limit})
    count = query_sql_file(conn, "check_held_count.sql", {"network": network}).rows[0][0]
    return HeldConversions(count, oldest)


def latest_conversion(conn: duckdb.DuckDBPyConnection, network: str) -> datetime | None:
    """When the network's latest attributed conversion (adjustments aside) converted."""
    return query_sql_file(conn, "check_unattributed_latest.sql", {"network": network}).rows[0][0]


def unattributed_count(
    conn: duckdb.DuckDBPyConnection, network: str, start: datetime, end: datetime
) -> tuple[int, int]:
    """Of the network's conversions converted in [start, end), adjustments aside: (unattributed, all)."""
    params = {"network": network, "start": start, "end": end}
    unattributed, total = query_sql_file(conn, "check_unattributed_share.sql", params).rows[0]
    return unattributed, total


def missing_fx_rates(conn: duckdb.DuckDBPyConnection) -> QueryResult:
    """Attributed conversions without an exchange rate, per network, currency and day (50 days at most)."""
    return query_sql_file(conn, "check_fx_rates_missing.sql")


@dataclass(frozen=True)
class PayoutMismatchReview:
    # The listed offers, those to act on first (50 at most).
    listed: QueryResult
    offers_per_cause: dict[str, int]
    actionable: int


def review_payout_mismatches(conn: duckdb.DuckDBPyConnection, actionable_causes: Sequence[str]) -> PayoutMismatchReview:
    """analytics.payout_mismatches as the check reports it: the offers, how many per cause, and how
    many have a cause in `actionable_causes`."""
    causes = {"causes": list(actionable_causes)}
    return PayoutMismatchReview(
        listed=query_sql_file(conn, "check_payout_mismatches_listed.sql", causes),
        offers_per_cause=dict(query_sql_file(conn, "check_payout_mismatches_per_cause.sql").rows),
        actionable=query_sql_file(conn, "check_payout_mismatches_actionable.sql", causes).rows[0][0],
    )
