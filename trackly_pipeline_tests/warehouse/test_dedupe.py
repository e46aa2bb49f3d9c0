"""`dedupe_network`: which row of a conversion stored twice stays (the one TUNE confirmed last), what
is kept of the other, which days and months are marked, and that other networks are untouched."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.dedupe import dedupe_network
from trackly_pipeline.warehouse.duplicates import find_duplicates

ADD = ("INSERT INTO tune.conversions (network, conversion_id, converted_at, offer_id, status, is_adjustment, payout, "
       "first_seen_at, last_seen_at) VALUES ($network, $id, $at, 7, $status, false, 2.5, $first, $last)")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


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
            conn.execute(ADD, {"network": network, "id": conversion_id, "at": at, "status": status,
                               "first": utc(2026, 9, 30, 23, 30), "last": last})
        assert [(d.network, d.conversion_id, d.copies) for d in find_duplicates(conn)] == [("acme", 1, 2)]

        with transaction(conn):
            deduped = dedupe_network(conn, "acme", utc(2026, 11, 1))

        assert (deduped.conversions, deduped.attributions) == (1, 0)
        assert deduped.days == [date(2026, 9, 30), date(2026, 10, 2)]  # both copies' days
        assert conn.execute("SELECT network, conversion_id, status FROM tune.conversions ORDER BY ALL").fetchall() == [
            ("acme", 1, "approved"), ("acme", 2, "approved"), ("bolt", 1, "approved")]
        (table, conversion_id, removed), = conn.execute(
            "SELECT table_name, conversion_id, removed_row FROM ops.removed_duplicates").fetchall()
        assert (table, conversion_id, json.loads(removed)["status"]) == ("tune.conversions", 1, "pending")
        assert conn.execute("SELECT day, reason FROM ops.dirty_days ORDER BY day").fetchall() == [
            (date(2026, 9, 30), "dedupe acme"), (date(2026, 10, 2), "dedupe acme")]
        assert set(conn.execute("SELECT table_name, month FROM ops.publish_pending").fetchall()) == {
            (table, month) for table in ("tune.conversions", "analytics.attributed_conversions")
            for month in (date(2026, 9, 1), date(2026, 10, 1))}
        assert find_duplicates(conn) == []
