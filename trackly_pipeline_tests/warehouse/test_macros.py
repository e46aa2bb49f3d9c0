"""The warehouse's SQL macros against Python's own date arithmetic: they replace zone-aware casts and
intervals on the hot paths, so they must give the same answers, in any session time zone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from trackly_pipeline.warehouse.database import Warehouse

UTC = UTC
MIDNIGHTS = [
    datetime(1969, 12, 31, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 29, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2099, 12, 31, tzinfo=UTC),
]


def timestamps() -> list[datetime]:
    """Every side of several midnights (leap day, both sides of 1970, DST change days), plus random ones."""
    edges = [midnight + timedelta(microseconds=delta) for midnight in MIDNIGHTS for delta in (-1, 0, 1)]
    rng = random.Random(7)
    spread = [
        datetime(1950, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(150 * 365 * 86_400 * 10**6))
        for _ in range(2_000)
    ]
    return edges + spread


@pytest.fixture
def conn(tmp_path):
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        conn.execute("SET TimeZone = 'America/New_York'")  # the macros must not depend on it
        yield conn


def test_utc_day_is_the_utc_calendar_day(conn):
    values = timestamps()
    got = conn.execute("SELECT utc_day(ts) FROM unnest($ts) AS t(ts)", {"ts": values}).fetchall()
    assert [day for (day,) in got] == [value.astimezone(UTC).date() for value in values]


@pytest.mark.parametrize("days", [0, 1, 7, 30])
def test_within_days_agrees_with_timedelta(conn, days):
    rng = random.Random(days)
    later = timestamps()
    # Gaps around the limit (one microsecond either side), far inside, and negative (earlier after later).
    gaps = [timedelta(days=days) + timedelta(microseconds=delta) for delta in (-1, 0, 1)]
    gaps += [timedelta(microseconds=rng.randrange(-86_400 * 10**6, (days + 1) * 86_400 * 10**6)) for _ in later]
    pairs = [(value - gap, value) for value, gap in zip(later * 2, gaps)]
    got = conn.execute(
        "SELECT within_days(pair.earlier, pair.later, $days) FROM (SELECT unnest($pairs) AS pair)",
        {"pairs": [{"earlier": e, "later": lt} for e, lt in pairs], "days": days},
    ).fetchall()
    assert [hit for (hit,) in got] == [lt - e <= timedelta(days=days) for e, lt in pairs]
    assert any(hit for (hit,) in got) and not all(hit for (hit,) in got)


def test_utc_day_of_infinity_and_null_is_what_the_cast_gives(conn):
    conn.execute("SET TimeZone = 'UTC'")
    got = conn.execute(
        "SELECT utc_day(ts) IS NOT DISTINCT FROM ts::DATE, utc_day(ts) IS NULL FROM "
        "(VALUES ('infinity'::TIMESTAMPTZ), ('-infinity'::TIMESTAMPTZ), (NULL::TIMESTAMPTZ)) AS t(ts)"
    ).fetchall()
    assert got == [(True, False), (True, False), (True, True)]
