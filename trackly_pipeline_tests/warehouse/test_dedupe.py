"""`dedupe_network`: which row of a conversion stored twice stays (the one TUNE confirmed last), what
is kept of the other, which days and months are marked, that other networks are untouched, and that
what analysts see of a deduped conversion (its attribution) is the kept row's."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.dedupe import dedupe_network
from trackly_pipeline.warehouse.duplicates import find_duplicates
from trackly_pipeline.warehouse.transforms import attribute_window

ADD = (
    "INSERT INTO tune.conversions (network, conversion_id, converted_at, offer_id, status, is_adjustment, payout, "
    "first_seen_at, last_seen_at) VALUES ($network, $id, $at, 7, $status, false, 2.5, $first, $last)"
)


ADD_PRICED = (
    "INSERT INTO tune.conversions (network, conversion_id, converted_at, offer_id, status, is_adjustment, "
    "payout, first_seen_at, last_seen_at) VALUES ('acme', 1, $at, 7, $status, false, $payout, $first, $last)"
)
ATTRIBUTE = (
    "INSERT INTO analytics.attributed_conversions (network, conversion_id, converted_at, status, "
    "is_adjustment, payout, currency, reporting_currency, fx_rate, payout_reporting, offer_id, "
    "attribution_method, attribution_window_days, attributed_at) VALUES ('acme', 1, $at, $status, false, "
    "$payout, 'USD', 'USD', 1, $payout, 7, 'unattributed', 30, $attributed_at)"
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def attributing(conn, network: str = "acme"):
    """What `trackly network dedupe` passes: attribute_window in USD, by aff_sub."""

    def reattribute(start: datetime, end: datetime):
        return attribute_window(
            conn,
            network=network,
            message_id_field="aff_sub",
            start=start,
            end=end,
            reporting_currency="USD",
            attributed_at=utc(2026, 11, 1),
        )

    return reattribute


def test_the_row_tune_confirmed_last_stays_and_the_other_is_kept_in_ops(tmp_path):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as conn:
        # Conversion 1 stored twice: pending as first seen in September, approved as last seen in
        # October on another day (TUNE moved it). Conversion 2 once; bolt's conversion 1 once.
        for network, conversion_id, at, status, last in [
            ("acme", 1, utc(2026, 9, 30, 23), "pending", utc(2026, 10, 1)),
            ("acme", 1, utc(2026, 10, 2, 5), "approved", utc(2026, 10, 3)),
            ("acme", 2, utc(2026, 10, 2, 6), "approved", utc(2026, 10, 3)),
            ("bolt", 1, utc(2026, 10, 2, 7), "approved", utc(2026, 10, 3)),
        ]:
            conn.execute(
                ADD,
                {
                    "network": network,
                    "id": conversion_id,
                    "at": at,
                    "status": status,
                    "first": utc(2026, 9, 30, 23, 30),
                    "last": last,
                },
            )
        assert [(d.network, d.conversion_id, d.copies) for d in find_duplicates(conn)] == [("acme", 1, 2)]

        with transaction(conn):
            deduped = dedupe_network(conn, "acme", utc(2026, 11, 1), attributing(conn))

        assert (deduped.conversions, deduped.attributions) == (1, 0)
        assert deduped.days == [date(2026, 9, 30), date(2026, 10, 2)]  # both copies' days
        assert conn.execute("SELECT network, conversion_id, status FROM tune.conversions ORDER BY ALL").fetchall() == [
            ("acme", 1, "approved"),
            ("acme", 2, "approved"),
            ("bolt", 1, "approved"),
        ]
        ((table, conversion_id, removed),) = conn.execute(
            "SELECT table_name, conversion_id, removed_row FROM ops.removed_duplicates"
        ).fetchall()
        assert (table, conversion_id, json.loads(removed)["status"]) == ("tune.conversions", 1, "pending")
        assert conn.execute("SELECT day, reason FROM ops.dirty_days ORDER BY ALL").fetchall() == [
            (date(2026, 9, 30), "dedupe acme"),
            (date(2026, 10, 2), "attribution acme"),  # the kept row re-attributed
            (date(2026, 10, 2), "dedupe acme"),
        ]
        assert set(conn.execute("SELECT table_name, month FROM ops.publish_pending").fetchall()) == {
            (table, month)
            for table in ("tune.conversions", "analytics.attributed_conversions")
            for month in (date(2026, 9, 1), date(2026, 10, 1))
        }
        assert find_duplicates(conn) == []


def test_dedupe_keeps_the_attribution_of_the_row_it_keeps(tmp_path):
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        # Copy A: pending, payout 2.50, last confirmed Oct 1. Copy B: rejected (TUNE moved and
        # rejected it), payout 0, last confirmed Oct 3: the one dedupe keeps.
        conn.execute(
            ADD_PRICED,
            {
                "at": utc(2026, 9, 30, 23),
                "status": "pending",
                "payout": 2.5,
                "first": utc(2026, 9, 30, 23),
                "last": utc(2026, 10, 1),
            },
        )
        conn.execute(
            ADD_PRICED,
            {
                "at": utc(2026, 10, 2, 5),
                "status": "rejected",
                "payout": 0,
                "first": utc(2026, 9, 30, 23),
                "last": utc(2026, 10, 3),
            },
        )
        # Attribution of a window holding A ran last (a backfill of September after October's
        # hourly runs): only A's attribution is stored.
        conn.execute(
            ATTRIBUTE,
            {"at": utc(2026, 9, 30, 23), "status": "pending", "payout": 2.5, "attributed_at": utc(2026, 10, 5)},
        )

        with transaction(conn):
            deduped = dedupe_network(conn, "acme", utc(2026, 11, 1), attributing(conn))

        kept = conn.execute("SELECT converted_at, status, payout FROM tune.conversions").fetchall()
        assert [(s, float(p)) for _, s, p in kept] == [("rejected", 0.0)]
        # Analysts' revenue for conversion 1 is the kept row's (rejected, 0), on its day.
        assert (
            conn.execute("SELECT converted_at, status, payout FROM analytics.attributed_conversions").fetchall() == kept
        )
        assert deduped.days == [date(2026, 9, 30), date(2026, 10, 2)]


def test_dedupe_keeps_the_attribution_of_the_kept_row_when_both_were_attributed_together(tmp_path):
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute(
            ADD_PRICED,
            {
                "at": utc(2026, 10, 2, 5),
                "status": "approved",
                "payout": 9,
                "first": utc(2026, 10, 2, 5),
                "last": utc(2026, 10, 3),
            },
        )  # kept: confirmed last
        conn.execute(
            ADD_PRICED,
            {
                "at": utc(2026, 10, 2, 4),
                "status": "pending",
                "payout": 2.5,
                "first": utc(2026, 10, 2, 4),
                "last": utc(2026, 10, 2),
            },
        )
        # One attribution run attributed both copies (same attributed_at); the stale copy's row
        # was written second.
        for at, status, payout in ((utc(2026, 10, 2, 5), "approved", 9), (utc(2026, 10, 2, 4), "pending", 2.5)):
            conn.execute(ATTRIBUTE, {"at": at, "status": status, "payout": payout, "attributed_at": utc(2026, 10, 4)})

        with transaction(conn):
            dedupe_network(conn, "acme", utc(2026, 11, 1), attributing(conn))

        kept = conn.execute("SELECT converted_at, status, payout FROM tune.conversions").fetchall()
        assert [(s, float(p)) for _, s, p in kept] == [("approved", 9.0)]
        assert (
            conn.execute("SELECT converted_at, status, payout FROM analytics.attributed_conversions").fetchall() == kept
        )
