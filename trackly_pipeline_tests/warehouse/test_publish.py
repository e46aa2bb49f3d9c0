"""Publishing the analysts' copy by month: what a month file holds, when files are rewritten and
removed, what readers of an older snapshot see, and refusing a folder the views cannot name."""
from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest

from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.publish import KEEP_REPLACED_FILES_S, UNPUBLISHED, parts_folder

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
    return dict(conn.execute(
        "SELECT month, file FROM ops.published_parts WHERE table_name = 'tune.conversions'").fetchall())


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
        parts_folder(warehouse.published_path).glob("*/*.parquet"))
