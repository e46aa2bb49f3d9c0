"""Publishing the analysts' copy by month: what a month file holds, when files are rewritten and
removed, what readers of an older snapshot see, and refusing a folder the views cannot name."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.publish import (
    KEEP_REPLACED_FILES_S,
    UNPUBLISHED,
    PublishError,
    parts_folder,
    wal_of,
)
from trackly_pipeline.warehouse.trackly_logs import load_log_files

MONTHS = (date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1))


def contents(path: Path) -> dict[str, tuple[list, list]]:
    """(column names and types, rows in order) of every table and view analysts are given."""
    with Warehouse(path).connect(read_only=True) as conn:
        names = conn.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = 'warehouse' "
            "UNION SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE database_name = 'warehouse' "
            "ORDER BY 1"
        ).fetchall()
        return {
            name: (
                [column[:2] for column in conn.execute(f"DESCRIBE {name}").fetchall()],  # name, type
                conn.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall(),
            )
            for (name,) in names
            if name not in UNPUBLISHED
        }


def assert_copy_equals_warehouse(warehouse: Warehouse) -> None:
    expected, published = contents(warehouse.path), contents(warehouse.published_path)
    assert published.keys() == expected.keys()
    for name, (columns, rows) in expected.items():
        assert published[name] == (columns, rows), name


def add_conversions(conn, month: date, count: int, first_id: int) -> None:
    """Conversions spread over `month`, with the month marked for publishing as the writers do."""
    conn.execute(
        """
        INSERT INTO tune.conversions BY NAME
        SELECT 'acme' AS network, $first + i AS conversion_id, $month::TIMESTAMPTZ + to_hours(i * 7) AS converted_at,
               7 AS offer_id, 'approved' AS status, false AS is_adjustment, (i % 50)::DECIMAL(18, 5) AS payout,
               'USD' AS currency, 'x''"\u2603' AS aff_sub, now() AS first_seen_at, now() AS last_seen_at
        FROM range($count) AS t(i)
        """,
        {"first": first_id, "month": month, "count": count},
    )
    conn.execute("INSERT INTO ops.publish_pending VALUES ('tune.conversions', $month)", {"month": month})


def current_files(conn) -> dict[date, str]:
    return dict(
        conn.execute("SELECT month, file FROM ops.published_parts WHERE table_name = 'tune.conversions'").fetchall()
    )


def age_every_file(warehouse: Warehouse) -> None:
    """Make every month file older than the grace period, as if the next publish came a day later."""
    a_day_ago = time.time() - KEEP_REPLACED_FILES_S - 60
    for path in parts_folder(warehouse.published_path).glob("*/*.parquet"):
        os.utime(path, (a_day_ago, a_day_ago))


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as conn:
        for n, month in enumerate(MONTHS):
            add_conversions(conn, month, 50, n * 1000)
        warehouse.publish(conn)
    return warehouse


def test_each_month_is_a_file_and_the_copy_equals_the_warehouse(warehouse):
    assert_copy_equals_warehouse(warehouse)
    with warehouse.connect() as conn:
        files = current_files(conn)
        assert sorted(files) == list(MONTHS)
        assert conn.execute("SELECT count(*) FROM ops.publish_pending").fetchone() == (0,)
    for month, file in files.items():
        assert file.startswith(f"tune.conversions/{month:%Y-%m}.")
        assert (parts_folder(warehouse.published_path) / file).exists()


def test_only_pending_months_are_rewritten_and_an_emptied_month_is_dropped(warehouse):
    with warehouse.connect() as conn:
        before = current_files(conn)
        conn.execute("DELETE FROM tune.conversions WHERE converted_at < '2026-10-01'")
        conn.execute("INSERT INTO ops.publish_pending VALUES ('tune.conversions', '2026-09-01')")
        add_conversions(conn, date(2026, 11, 1), 5, 9000)
        warehouse.publish(conn)
        after = current_files(conn)
    assert_copy_equals_warehouse(warehouse)
    assert sorted(after) == [date(2026, 10, 1), date(2026, 11, 1)]
    assert after[date(2026, 10, 1)] == before[date(2026, 10, 1)]
    assert after[date(2026, 11, 1)] != before[date(2026, 11, 1)]


def test_a_table_whose_files_are_gone_is_published_whole_again(warehouse):
    parts = parts_folder(warehouse.published_path)
    for path in parts.glob("tune.conversions/*.parquet"):
        path.unlink()
    with warehouse.connect() as conn:
        warehouse.publish(conn)
        files = current_files(conn)
    assert sorted(files) == list(MONTHS) and all((parts / file).exists() for file in files.values())
    assert_copy_equals_warehouse(warehouse)


def test_a_reader_keeps_its_snapshot_and_replaced_files_go_after_a_day(warehouse):
    reader = Warehouse(warehouse.published_path)
    with reader.connect(read_only=True) as old:
        assert old.execute("SELECT count(*) FROM tune.conversions").fetchone() == (150,)
        with warehouse.connect() as conn:
            replaced = current_files(conn)[date(2026, 11, 1)]
            add_conversions(conn, date(2026, 11, 1), 5, 9000)
            warehouse.publish(conn)
            kept = current_files(conn)
        assert old.execute("SELECT count(*) FROM tune.conversions").fetchone() == (150,)  # its snapshot
    with reader.connect(read_only=True) as new:
        assert new.execute("SELECT count(*) FROM tune.conversions").fetchone() == (155,)

    parts = parts_folder(warehouse.published_path)
    a_day_ago = time.time() - KEEP_REPLACED_FILES_S - 60
    for path in parts.glob("*/*.parquet"):  # every file is old now, the current ones included
        os.utime(path, (a_day_ago, a_day_ago))
    with warehouse.connect() as conn:
        warehouse.publish(conn)
    assert not (parts / replaced).exists()
    assert all((parts / file).exists() for file in kept.values())
    assert_copy_equals_warehouse(warehouse)


def test_an_old_month_file_replaced_now_still_gets_its_day(warehouse):
    """A month published long ago and replaced today stays for readers of the snapshot before."""
    parts = parts_folder(warehouse.published_path)
    a_month_ago = time.time() - 30 * 24 * 3600
    for path in parts.glob("*/*.parquet"):
        os.utime(path, (a_month_ago, a_month_ago))
    with warehouse.connect() as conn:
        replaced = current_files(conn)[date(2026, 9, 1)]
        add_conversions(conn, date(2026, 9, 1), 5, 9000)
        warehouse.publish(conn)
        assert current_files(conn)[date(2026, 9, 1)] != replaced
        warehouse.publish(conn)  # a later run within the day
    assert (parts / replaced).exists()
    assert_copy_equals_warehouse(warehouse)


def test_files_the_live_copy_reads_get_their_day_when_its_bookkeeping_failed(warehouse):
    """The copy is in place but noting its files failed: the next publish, a day later, still gives
    the files that copy reads their day, though the bookkeeping never listed them."""
    parts = parts_folder(warehouse.published_path)
    with warehouse.connect() as conn:
        add_conversions(conn, date(2026, 11, 1), 5, 9000)
        other = conn.cursor()  # deletes a row _record deletes too: _record fails on the conflict
        other.execute("BEGIN TRANSACTION")
        other.execute("DELETE FROM warehouse.ops.published_parts WHERE month = '2026-11-01'")
        with pytest.raises(duckdb.TransactionException):
            warehouse.publish(conn)
        other.execute("ROLLBACK")
        unlisted = set(parts.glob("*/*.parquet")) - {parts / file for file in current_files(conn).values()}
    assert len(unlisted) == 1  # the new November file, which the copy in place reads

    age_every_file(warehouse)
    with Warehouse(warehouse.published_path).connect(read_only=True) as old:
        assert old.execute("SELECT count(*) FROM tune.conversions").fetchone() == (155,)
        with warehouse.connect() as conn:
            warehouse.publish(conn)
        assert all(path.exists() for path in unlisted)
        assert old.execute("SELECT count(*) FROM tune.conversions").fetchone() == (155,)  # its snapshot
    assert_copy_equals_warehouse(warehouse)

    age_every_file(warehouse)  # a day on, no copy has read them since: gone
    with warehouse.connect() as conn:
        warehouse.publish(conn)
        assert set(parts.glob("*/*.parquet")) == {parts / file for file in current_files(conn).values()}


def publish_marked_then_whole(warehouse: Warehouse) -> None:
    """Publish the months writers marked, then every table whole (its files gone), checking the copy."""
    with warehouse.connect() as conn:
        warehouse.publish(conn)
    assert_copy_equals_warehouse(warehouse)
    with warehouse.connect() as conn:
        assert conn.execute("SELECT * FROM ops.publish_pending").fetchall() == []
    for path in parts_folder(warehouse.published_path).glob("*/*.parquet"):
        path.unlink()
    with warehouse.connect() as conn:
        warehouse.publish(conn)
    assert_copy_equals_warehouse(warehouse)


def add_creative_day(conn, day: str) -> None:
    """A rollup row on `day`, its month marked as rollups.sql marks it (in SQL, so infinity stays)."""
    conn.execute(
        "INSERT INTO analytics.revenue_by_creative VALUES ($day::DATE, 1, 10, 5, 1, 1, 0, 0, 0, 2.5, 0, 0, "
        "0.5, 0.2, 0.25)",
        {"day": day},
    )
    conn.execute(
        "INSERT INTO ops.publish_pending SELECT 'analytics.revenue_by_creative', date_trunc('month', $day::DATE)::DATE",
        {"day": day},
    )


def test_rows_at_infinite_times_reach_the_copy_once(tmp_path):
    """A log may hold sent_at = +-infinity (schema.sql, utc_day): such rows are in the first or last
    month file, once, like a rollup day at infinity."""
    warehouse = Warehouse(tmp_path / "w.duckdb")
    log = tmp_path / "messages.csv"
    header = "message_id,creative_id,campaign_id,contact_id,sending_list_id,sent_at\n"
    log.write_text(header + "MSGAAAA1,501,1,1,1,2026-11-02 10:00:00+00\n")
    with warehouse.connect() as conn:
        with transaction(conn):
            load_log_files(conn, "messages", str(log), datetime.now(UTC))
        add_creative_day(conn, "2026-11-02")
        warehouse.publish(conn)  # published once: from now on only the marked months are written
        log.write_text(
            header + "MSGAAAA1,501,1,1,1,2026-11-02 10:00:00+00\nMSGBBBB2,501,1,1,1,infinity\n"
            "MSGCCCC3,501,1,1,1,-infinity\nMSGDDDD4,501,1,1,1,9999-12-31 23:00:00+00\n"
            "MSGEEEE5,501,1,1,1,0001-01-01 00:00:00+00\n"
        )
        with transaction(conn):
            load_log_files(conn, "messages", str(log), datetime.now(UTC))
        for day in ("infinity", "-infinity", "9999-12-31"):
            add_creative_day(conn, day)
    publish_marked_then_whole(warehouse)
    with Warehouse(warehouse.published_path).connect(read_only=True) as copy:
        assert copy.execute("SELECT count(*) FROM trackly.messages").fetchone() == (5,)


def test_rows_in_years_python_cannot_name_reach_the_copy_once(tmp_path):
    """DuckDB holds years past 9999 and before 1, Python's dates do not: they go to the last and
    first month file."""
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as conn:
        add_creative_day(conn, "2026-11-02")
        warehouse.publish(conn)
        for day in ("20000-01-01", "0005-01-01 (BC)", "0001-01-01"):
            add_creative_day(conn, day)
    publish_marked_then_whole(warehouse)
    with warehouse.connect() as conn:
        months = conn.execute("SELECT month FROM ops.published_parts ORDER BY 1").fetchall()
    assert months == [(date(1, 1, 1),), (date(2026, 11, 1),), (date(9999, 12, 1),)]


def test_a_folder_with_a_quote_is_refused_and_loses_nothing(tmp_path):
    warehouse = Warehouse(tmp_path / "it's" / "w.duckdb")
    with warehouse.connect() as conn:
        add_conversions(conn, date(2026, 11, 1), 5, 1)
        with pytest.raises(ValueError, match="quote"):
            warehouse.publish(conn)
        assert conn.execute("SELECT * FROM ops.publish_pending").fetchall() == [("tune.conversions", date(2026, 11, 1))]
    assert sorted(p.name for p in warehouse.path.parent.iterdir()) == ["w.duckdb"]


def test_an_empty_warehouse_publishes_empty_tables(tmp_path):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as conn:
        warehouse.publish(conn)
    assert_copy_equals_warehouse(warehouse)
    assert not parts_folder(warehouse.published_path).exists() or not any(
        parts_folder(warehouse.published_path).glob("*/*.parquet")
    )


def test_while_the_copy_cannot_be_read_every_file_gets_its_day(warehouse, caplog):
    """Whose files old sessions read is then unknown (the copy's views cannot be read): each file on
    disk gets a day from then, even if the next publish can read the copy again."""
    with warehouse.connect() as conn:
        # What a schema upgrade does: the bookkeeping forgets the table's files, all are rewritten.
        replaced = set(current_files(conn).values())
        conn.execute("DELETE FROM ops.published_parts WHERE table_name = 'tune.conversions'")
        age_every_file(warehouse)
        warehouse.published_path.write_bytes(b"not a database")  # damaged
        with caplog.at_level("WARNING", logger="trackly_pipeline.warehouse"):
            warehouse.publish(conn)
        assert not replaced & set(current_files(conn).values())
    parts = parts_folder(warehouse.published_path)
    assert all((parts / file).exists() for file in replaced)
    assert any("every month file on disk is kept for another day" in record.getMessage() for record in caplog.records)
    with warehouse.connect() as conn:  # readable again, within the day: sessions from before still read them
        warehouse.publish(conn)
    assert all((parts / file).exists() for file in replaced)
    age_every_file(warehouse)
    with warehouse.connect() as conn:  # readable again, and the day is over: they go
        warehouse.publish(conn)
    assert not any((parts / file).exists() for file in replaced)
    assert_copy_equals_warehouse(warehouse)


def test_every_file_the_warehouse_writes_is_one_it_says_it_owns(tmp_path):
    """Warehouse.own_files is how trackly.yaml's log globs are kept off the pipeline's own files
    (config.py) and how a load refuses one (trackly_logs.py): every file and folder a write and a
    publish leave, first and last month files included, must be among them."""
    warehouse = Warehouse(tmp_path / "data" / "w.duckdb")
    with warehouse.connect() as conn:
        add_conversions(conn, date(2026, 11, 1), 5, 1)
        for day in ("infinity", "-infinity", "2026-11-02"):
            add_creative_day(conn, day)
        warehouse.publish(conn)
        written = list(warehouse.path.parent.rglob("*"))
        assert any(path.name.startswith("0001-01.") for path in written)
        assert any(path.name.startswith("9999-12.") for path in written)
        assert [path for path in written if warehouse.own_file(path) is None] == []
    assert warehouse.own_file(tmp_path / "data" / "trackly" / "messages.parquet") is None
    assert warehouse.own_file(tmp_path / "w.duckdb") is None


def run_python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)


# An analyst's read-write session (the DuckDB CLI's default) that writes a scratch table, then dies
# without closing: its write-ahead log stays beside the copy.
DIES_AFTER_WRITING = (
    "import duckdb, os, sys\nconn = duckdb.connect(sys.argv[1])\n"
    "conn.execute('CREATE TABLE scratch AS SELECT 42 AS answer')\nos._exit(9)\n"
)


def test_a_dead_read_write_session_does_not_lock_analysts_out_of_the_next_copy(warehouse, caplog):
    """Its log beside the next copy made every open fail, read-only ones too ("WAL does not match
    database file"), while runs reported success (issue 16.1)."""
    run_python(DIES_AFTER_WRITING, str(warehouse.published_path)).wait(timeout=60)
    assert wal_of(warehouse.published_path).exists()
    with warehouse.connect() as conn:
        add_conversions(conn, date(2026, 12, 1), 10, 9000)
        with caplog.at_level("WARNING", logger="trackly_pipeline.warehouse"):
            warehouse.publish(conn)
    assert not wal_of(warehouse.published_path).exists()
    assert any("ended without closing it" in record.getMessage() for record in caplog.records)
    assert_copy_equals_warehouse(warehouse)  # opens read-only, every row there


# A read-write session that has written nothing yet: its log appears at its first write.
OPENS_THEN_WRITES = (
    "import duckdb, sys\nconn = duckdb.connect(sys.argv[1])\nprint('open', flush=True)\n"
    "sys.stdin.readline()\nconn.execute('CREATE TABLE scratch AS SELECT 42 AS answer')\n"
    "print('wrote', flush=True)\nsys.stdin.readline()\n"
)


@pytest.mark.parametrize("writes_first", [True, False])
def test_a_read_write_session_on_the_copy_fails_the_publish_saying_what_to_do(tmp_path, writes_first):
    """Swapped in under a live read-write session (whose lock is on the old file), the new copy got
    that session's log at its next write and no longer opened, after a publish that succeeded
    (review). The publish refuses, names the session, keeps the copy and its months pending; once
    the session is gone (killed: its log stays), the next publish heals. A folder named
    `blocklists` tells nothing: liveness is DuckDB's lock error, not the word "lock" (review)."""
    warehouse = Warehouse(tmp_path / "blocklists" / "w.duckdb")
    warehouse.path.parent.mkdir()
    with warehouse.connect() as conn:
        add_conversions(conn, MONTHS[0], 10, 0)
        warehouse.publish(conn)
    before = warehouse.published_path.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", OPENS_THEN_WRITES, str(warehouse.published_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        if writes_first:
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "wrote"
        with warehouse.connect() as conn:
            add_conversions(conn, date(2026, 12, 1), 10, 9000)
            with pytest.raises(PublishError, match=r"held open read-write by another process.*end that session"):
                warehouse.publish(conn)
            assert conn.execute("SELECT count(*) > 0 FROM ops.publish_pending").fetchone() == (True,)
        assert warehouse.published_path.read_bytes() == before
        if not writes_first:  # it writes now: the copy in place is still its own file
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "wrote"
    finally:
        holder.kill()
        holder.wait()
    with warehouse.connect() as conn:
        warehouse.publish(conn)
    assert not wal_of(warehouse.published_path).exists()
    assert_copy_equals_warehouse(warehouse)
