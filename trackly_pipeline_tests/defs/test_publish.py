"""The analysts' copy after real runs: every published table holds exactly the warehouse's rows
with the same column types, and a run republishes only the months it wrote."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from trackly_pipeline.sandbox import FaultRule
from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.publish import PARTITIONED, parts_folder

from ..warehouse.test_publish import assert_copy_equals_warehouse

pytestmark = pytest.mark.slow


def published_files(project) -> dict[str, set[str]]:
    """The files the copy reads now, per partitioned table."""
    files: dict[str, set[str]] = {table: set() for table in PARTITIONED}
    for table, file in project.query("SELECT table_name, file FROM ops.published_parts"):
        files[table].add(file.split("/")[-1])
    return files


def files_on_disk(project) -> set[str]:
    parts = parts_folder(Warehouse(project.settings.duckdb_path).published_path)
    return {p.name for p in parts.glob("*/*.parquet")}


def test_the_copy_equals_the_warehouse_and_a_run_republishes_only_its_months(synced):
    # 20 days of history ending 2026-11-20: October and November.
    project = synced("acme", days=25)
    assert_copy_equals_warehouse(Warehouse(project.settings.duckdb_path))
    first = published_files(project)
    assert {f[:7] for f in first["tune.conversions"]} == {"2026-10", "2026-11"}
    assert {f[:7] for f in first["analytics.revenue_by_message"]} == {"2026-10", "2026-11"}
    with Warehouse(project.settings.duckdb_path.with_name("trackly_analytics.duckdb")).connect(read_only=True) as conn:
        kinds = dict(
            conn.execute(
                "SELECT schema_name || '.' || view_name, 'view' FROM duckdb_views() WHERE database_name = 'warehouse' "
                "AND NOT internal"
            ).fetchall()
        )
    non_empty = {table for table in PARTITIONED if project.query(f"SELECT count(*) FROM {table}") != [(0,)]}
    assert set(kinds) == non_empty and len(non_empty) >= 7  # an empty one stays a plain (empty) table

    # Hours later, a 7-day run (all in November) with status changes in the sandbox meanwhile, and a
    # new message log file (one message sent in November).
    project.world.clock.advance(timedelta(hours=30))
    late = project.root / "logs" / "messages" / "late.parquet"
    duckdb.sql(
        "SELECT 'late0001' AS message_id, 1::BIGINT AS creative_id, 2::BIGINT AS campaign_id, 3::BIGINT AS contact_id, "
        "4::BIGINT AS sending_list_id, TIMESTAMPTZ '2026-11-21 08:00:00+00' AS sent_at"
    ).write_parquet(str(late))
    assert project.sync("acme").success
    assert_copy_equals_warehouse(Warehouse(project.settings.duckdb_path))
    second = published_files(project)
    assert project.query("SELECT count(*) FROM trackly.messages WHERE message_id = 'late0001'") == [(1,)]
    for table in (
        "tune.conversions",
        "analytics.attributed_conversions",
        "analytics.revenue_by_message",
        "trackly.messages",
    ):
        october = {f for f in first[table] if f.startswith("2026-10")}
        assert october and october <= second[table], table  # untouched month: the same file
        november = {f for f in second[table] if f.startswith("2026-11")}
        assert november and not november & first[table], table  # rewritten month: a new file
    # Replaced files stay a day for readers of the older snapshot.
    assert set().union(*first.values(), *second.values()) == files_on_disk(project)
    assert project.query("SELECT count(*) FROM ops.publish_pending") == [(0,)]


def test_quarantined_rows_reach_the_copy_run_after_run(project):
    """Hostile rows on every page of two runs: the second run's rejections join a month already
    published, so they reach the copy only through the month the quarantine marks."""
    project.server.add_fault(FaultRule("hostile_rows", times=None))
    assert project.sync("acme").success
    first = published_files(project)["ops.quarantine"]
    project.world.clock.advance(timedelta(hours=1))
    assert project.sync("acme").success
    assert_copy_equals_warehouse(Warehouse(project.settings.duckdb_path))
    assert project.query("SELECT count(DISTINCT sync_id), count(DISTINCT reason) > 1 FROM ops.quarantine") == [
        (2, True)
    ]
    second = published_files(project)["ops.quarantine"]
    assert first and second and not first & second
