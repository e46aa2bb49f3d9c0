"""The status ledger against one conversion sweep at a time (real DuckDB): a conversion whose time or
offer TUNE moves, with status and money unchanged, is a `changed` row, so tune.conversions_as_of
follows it, and the sweep's counts agree with the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from trackly_pipeline.tune.conversion_schema import CONVERSION_SCHEMA
from trackly_pipeline.warehouse.conversions import ConversionSweep, WindowStats
from trackly_pipeline.warehouse.database import Warehouse, transaction

UTC = UTC
START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=7)
FIRST_SEEN = datetime(2026, 11, 7, 1, tzinfo=UTC)
SECOND_SEEN = FIRST_SEEN + timedelta(hours=1)


def conversion(
    conversion_id: int, converted_at: datetime, offer_id: int = 7, status: str = "approved", payout: str = "10"
) -> dict:
    row = dict.fromkeys(CONVERSION_SCHEMA.names)
    row.update(
        conversion_id=conversion_id,
        converted_at=converted_at,
        offer_id=offer_id,
        status=status,
        is_adjustment=False,
        payout=Decimal(payout),
        currency="USD",
    )
    return row


def sync_id(seen_at: datetime) -> str:
    return f"sync-{seen_at:%d%H%M}"


def sweep(
    conn,
    rows: list[dict],
    seen_at: datetime,
    rejected: list = (),
    affiliate_id: int | None = None,
    start: datetime = START,
    end: datetime = END,
) -> WindowStats:
    """One sweep of acme's [start, end): `rows` as read, `rejected` the rows the client could not read."""
    loader = ConversionSweep(conn, "acme", sync_id=sync_id(seen_at), affiliate_id=affiliate_id)
    loader.add_table(pa.Table.from_pylist(rows, schema=CONVERSION_SCHEMA), rejected)
    with transaction(conn):
        return loader.replace_window(start, end, seen_at)


@pytest.fixture
def conn(tmp_path):
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        yield conn


def ledger(conn) -> list[tuple]:
    return conn.execute(
        "SELECT conversion_id, change, converted_at, offer_id, status, previous_status "
        "FROM tune.conversion_changes ORDER BY seen_at, conversion_id"
    ).fetchall()


def test_a_conversion_moved_to_the_next_day_is_a_changed_row(conn):
    before, after = datetime(2026, 11, 2, 23, 30, tzinfo=UTC), datetime(2026, 11, 3, 0, 30, tzinfo=UTC)
    sweep(conn, [conversion(1, before), conversion(2, before)], FIRST_SEEN)
    stats = sweep(conn, [conversion(1, after), conversion(2, before)], SECOND_SEEN)

    assert (stats.rows, stats.new, stats.changed, stats.unchanged, stats.vanished) == (2, 0, 1, 1, 0)
    assert stats.transitions == {}  # the status did not change
    assert ledger(conn) == [
        (1, "new", before, 7, "approved", None),
        (2, "new", before, 7, "approved", None),
        (1, "changed", after, 7, "approved", "approved"),
    ]
    # what we know now is the new time, as in tune.conversions; what we knew after the first sweep, the old
    as_of_now = conn.execute(
        "SELECT conversion_id, converted_at FROM tune.conversions_as_of(now()) ORDER BY 1"
    ).fetchall()
    assert as_of_now == conn.execute("SELECT conversion_id, converted_at FROM tune.conversions ORDER BY 1").fetchall()
    assert as_of_now == [(1, after), (2, before)]
    assert conn.execute(
        "SELECT converted_at FROM tune.conversions_as_of($t) WHERE conversion_id = 1", {"t": FIRST_SEEN}
    ).fetchall() == [(before,)]
    # the docs' "reported vs latest" query: the payout is on 11-03 in both, not on 11-02 in one of them
    by_day = conn.execute(
        "SELECT utc_day(converted_at) AS day, sum(payout) FROM tune.conversions_as_of(now()) "
        "WHERE conversion_id = 1 GROUP BY day"
    ).fetchall()
    assert [day for day, _ in by_day] == [after.date()]


def test_a_conversion_moved_to_another_offer_is_a_changed_row(conn):
    at = datetime(2026, 11, 4, 12, tzinfo=UTC)
    sweep(conn, [conversion(1, at, offer_id=7)], FIRST_SEEN)
    stats = sweep(conn, [conversion(1, at, offer_id=8)], SECOND_SEEN)

    assert (stats.new, stats.changed, stats.unchanged) == (0, 1, 0)
    assert ledger(conn)[-1] == (1, "changed", at, 8, "approved", "approved")
    assert conn.execute("SELECT offer_id FROM tune.conversions_as_of(now())").fetchall() == [(8,)]


def test_an_unchanged_resweep_adds_nothing_and_counts_agree_with_the_ledger(conn):
    at = datetime(2026, 11, 4, 12, tzinfo=UTC)
    rows = [conversion(1, at), conversion(2, at + timedelta(hours=1)), conversion(3, at, status="pending")]
    sweep(conn, rows, FIRST_SEEN)
    same = sweep(conn, rows, SECOND_SEEN)
    assert (same.new, same.changed, same.unchanged, same.vanished) == (0, 0, 3, 0)
    assert len(ledger(conn)) == 3

    # one moved, one approved, one gone, one new: every count has its ledger rows
    third = SECOND_SEEN + timedelta(hours=1)
    stats = sweep(conn, [conversion(1, at + timedelta(minutes=5)), conversion(3, at), conversion(4, at)], third)
    assert (stats.rows, stats.new, stats.changed, stats.unchanged, stats.vanished) == (3, 1, 2, 0, 1)
    assert stats.transitions == {"pending -> approved": 1}
    counts = dict(
        conn.execute(
            "SELECT change, count(*) FROM tune.conversion_changes WHERE seen_at = $t GROUP BY 1", {"t": third}
        ).fetchall()
    )
    assert counts == {"new": stats.new, "changed": stats.changed, "vanished": stats.vanished}
