"""Issue 14.1: a conversion TUNE still returns is never deleted. A stored conversion that a sweep gets
back only unreadable (the client rejects the row, or it is quarantined after staging) keeps its
stored row, its last good state, with held_since set; the ledger says `quarantined` once; it stays in
tune.conversions_as_of and in the revenue. Only a conversion absent from the reply is `vanished`.
Real DuckDB, one sweep at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trackly_pipeline.tune import RejectedRow
from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline_tests.warehouse.test_ledger_moves import conversion, sweep, sync_id
from trackly_pipeline_tests.warehouse.test_other_affiliates import attribute_and_roll_up

UTC = UTC
START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=7)
AT = datetime(2026, 11, 4, 12, tzinfo=UTC)
SEEN = [END + timedelta(hours=n) for n in range(6)]
SIX_DECIMALS = "Stat.payout has more than 5 decimal places: '25.000001'"


def unreadable(conversion_id: str, reason: str = SIX_DECIMALS) -> RejectedRow:
    """A row the client rejected, as it comes with a page: the raw row and Stat.id as sent."""
    return RejectedRow(reason, {"Stat": {"id": conversion_id, "payout": "25.000001"}}, conversion_id)


@pytest.fixture
def conn(tmp_path):
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("INSERT INTO ops.networks VALUES ('acme', 'acmenet', 'aff_sub', 'USD', 1001)")
        yield conn


def stored(conn) -> dict[int, tuple]:
    return {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT conversion_id, status, payout, first_seen_at, last_seen_at, held_since FROM tune.conversions"
        ).fetchall()
    }


def ledger(conn) -> list[tuple]:
    return conn.execute(
        "SELECT conversion_id, seen_at, change, status, previous_status, payout "
        "FROM tune.conversion_changes ORDER BY seen_at, conversion_id"
    ).fetchall()


def as_of(conn, moment: datetime) -> dict[int, tuple]:
    return {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT conversion_id, status, payout FROM tune.conversions_as_of($t)", {"t": moment}
        ).fetchall()
    }


def revenue(conn) -> Decimal:
    attribute_and_roll_up(conn, START, END)
    return conn.execute("SELECT coalesce(sum(revenue), 0) FROM analytics.revenue_by_offer").fetchone()[0]


def test_a_conversion_returned_unreadable_is_held_at_its_last_good_state_then_heals(conn):
    sweep(conn, [conversion(1, AT, payout="25"), conversion(2, AT, status="pending", payout="5")], SEEN[0])
    assert revenue(conn) == Decimal("25")
    good = stored(conn)[1]

    # TUNE returns 1 with a six-decimal payout (and 2 as before): 1 is held, not vanished
    stats = sweep(conn, [conversion(2, AT, status="pending", payout="5")], SEEN[1], [unreadable("1")])
    assert (stats.rows, stats.unchanged, stats.vanished, stats.held, stats.quarantined) == (1, 1, 0, 1, 1)
    assert stored(conn)[1] == (*good[:4], SEEN[1])  # same state, first_seen_at and last_seen_at; held since now
    assert revenue(conn) == Decimal("25")  # was 0.00 before the fix
    assert ledger(conn)[-1] == (1, SEEN[1], "quarantined", "approved", "approved", Decimal("25"))
    assert as_of(conn, SEEN[1])[1] == ("approved", Decimal("25"))
    # the `quarantined` row is no observation of a state: as_of gives the state as seen, and when
    assert conn.execute(
        "SELECT seen_at FROM tune.conversions_as_of($t) WHERE conversion_id = 1", {"t": SEEN[1]}
    ).fetchall() == [(SEEN[0],)]
    assert conn.execute(
        "SELECT record_id, reason FROM ops.quarantine WHERE sync_id = $s", {"s": sync_id(SEEN[1])}
    ).fetchall() == [("1", SIX_DECIMALS)]

    # still unreadable an hour later, now a broken sub id: held since the first time, one ledger row
    stats = sweep(
        conn,
        [conversion(2, AT, status="pending", payout="5")],
        SEEN[2],
        [unreadable("1", "Stat.affiliate_info1 is not valid Unicode text: lone surrogate U+D800")],
    )
    assert (stats.vanished, stats.held) == (0, 1)
    assert stored(conn)[1] == (*good[:4], SEEN[1])
    assert [row[2] for row in ledger(conn) if row[0] == 1] == ["new", "quarantined"]

    # readable again, and TUNE has rejected it meanwhile: replaced, no longer held
    stats = sweep(
        conn,
        [conversion(1, AT, status="rejected", payout="25"), conversion(2, AT, status="pending", payout="5")],
        SEEN[3],
    )
    assert (stats.changed, stats.held, stats.vanished) == (1, 0, 0)
    assert stats.transitions == {"approved -> rejected": 1}
    assert stored(conn)[1] == ("rejected", Decimal("25"), good[2], SEEN[3], None)
    assert ledger(conn)[-1] == (1, SEEN[3], "changed", "rejected", "approved", Decimal("25"))
    assert revenue(conn) == Decimal("0")
    assert as_of(conn, SEEN[2])[1] == ("approved", Decimal("25")) and as_of(conn, SEEN[3])[1][0] == "rejected"

    # absent from the reply: that alone is vanished
    stats = sweep(conn, [conversion(2, AT, status="pending", payout="5")], SEEN[4])
    assert (stats.vanished, stats.held) == (1, 0)
    assert 1 not in stored(conn) and 1 not in as_of(conn, SEEN[4])


def test_held_again_after_healing_is_recorded_again_and_readable_unchanged_records_nothing(conn):
    sweep(conn, [conversion(1, AT)], SEEN[0])
    sweep(conn, [], SEEN[1], [unreadable("1")])
    stats = sweep(conn, [conversion(1, AT)], SEEN[2])  # readable, as stored: no ledger row, not held
    assert (stats.unchanged, stats.held) == (1, 0) and stored(conn)[1][-1] is None
    sweep(conn, [], SEEN[3], [unreadable("1")])
    assert [(row[1], row[2]) for row in ledger(conn)] == [
        (SEEN[0], "new"),
        (SEEN[1], "quarantined"),
        (SEEN[3], "quarantined"),
    ]
    assert stored(conn)[1][-1] == SEEN[3]
    assert as_of(conn, SEEN[3]) == {1: ("approved", Decimal("10"))}


def test_which_quarantined_rows_hold_a_stored_conversion(conn):
    """Held: a stored conversion whose every row in the sweep was quarantined, found by Stat.id as
    the row parser reads it. A duplicate's quarantined copy holds nothing (its first row is stored)."""
    rows = [conversion(n, AT + timedelta(minutes=n)) for n in range(1, 6)]
    sweep(conn, rows, SEEN[0])
    stats = sweep(
        conn,
        [conversion(2, AT + timedelta(minutes=2)), conversion(2, AT, payout="99")],  # readable, then a duplicate
        SEEN[1],
        [
            unreadable(
                "1", "Stat.datetime does not exist in time zone America/New_York (DST gap): '2026-03-08 02:30:00'"
            ),
            unreadable("2"),  # and an unreadable copy: the readable row wins
            unreadable(" 0003"),  # Stat.id as sent, read as the row parser reads ids
            unreadable("4.0"),  # not an id the parser reads: 4 is not known to be returned
            RejectedRow("Stat.id is missing", {"Stat": {"payout": "1"}}, None),
        ],
    )
    assert (stats.held, stats.vanished, stats.unchanged) == (2, 2, 1)  # 1 and 3 held; 4 and 5 vanished
    held = {k: v[-1] for k, v in stored(conn).items()}
    assert held == {1: SEEN[1], 2: None, 3: SEEN[1]}
    assert stored(conn)[1][:2] == ("approved", Decimal("10"))
    quarantined = conn.execute(
        "SELECT record_id, reason FROM ops.quarantine WHERE sync_id = $s ORDER BY ALL", {"s": sync_id(SEEN[1])}
    ).fetchall()
    assert [record_id for record_id, _ in quarantined] == [" 0003", "1", "2", "2", "4.0", None]
    assert "duplicate conversion_id in one sweep" in {reason for _, reason in quarantined}
    assert {(row[0], row[2]) for row in ledger(conn) if row[1] == SEEN[1]} == {
        (1, "quarantined"),
        (3, "quarantined"),
        (4, "vanished"),
        (5, "vanished"),
    }


def test_a_held_conversion_is_not_forgotten_as_another_affiliates(conn):
    """The first sweep under our affiliate id forgets other affiliates' stored conversions, except
    those TUNE returns for us: readable ones are replaced, unreadable ones held."""
    sweep(conn, [{**conversion(1, AT), "affiliate_id": 4242}, {**conversion(2, AT), "affiliate_id": 4242}], SEEN[0])
    stats = sweep(conn, [], SEEN[1], [unreadable("1")], affiliate_id=1001)
    assert (stats.other_affiliates, stats.held) == (1, 1)
    assert set(stored(conn)) == {1}
