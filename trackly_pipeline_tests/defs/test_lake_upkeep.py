"""The lake's daily upkeep (warehouse/lake_upkeep.py, job `lake_upkeep`): after real syncs it leaves
fewer data files, every table's content as it was, the snapshots younger than the retention (time
travel to them still works) and none older; the job runs through Dagster and its schedule exists on
a lake only."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest

from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.lake_upkeep import LAKE_UPKEEP_JOB, LAKE_UPKEEP_SCHEDULE
from trackly_pipeline.warehouse.lake_upkeep import upkeep

from . import test_lake
from .test_pipeline_ground_truth import window_truth

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
lake_project = test_lake.lake_project  # the fixture: a sandbox project on a lake of its own

CONVERSIONS = "SELECT network, conversion_id, status, payout FROM tune.conversions"


def checksums(project) -> dict[str, tuple[int, str]]:
    """Every lake table's row count and a checksum of its sorted rows."""
    with project.settings.warehouse().connect(read_only=True) as conn:
        tables = conn.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'warehouse' ORDER BY ALL"
        ).fetchall()
        sums = {}
        for schema, table in tables:
            rows = conn.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL').fetchall()
            sums[f"{schema}.{table}"] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return sums


def current_snapshot(project) -> int:
    ((snapshot,),) = project.query("SELECT id FROM ducklake_current_snapshot('warehouse')")
    return snapshot


def snapshot_ids(project) -> list[int]:
    return [row[0] for row in project.query("SELECT snapshot_id FROM ducklake_snapshots('warehouse') ORDER BY 1")]


def snapshot_times(project) -> dict[int, datetime]:
    return dict(project.query("SELECT snapshot_id, snapshot_time FROM ducklake_snapshots('warehouse')"))


def live_data_files(project) -> int:
    ((files,),) = project.query(
        "SELECT count(*) FROM __ducklake_metadata_warehouse.ducklake_data_file WHERE end_snapshot IS NULL"
    )
    return files


def parquet_files(project) -> int:
    return len(list((project.root / "lake").rglob("*.parquet")))


def test_upkeep_merges_files_keeps_every_table_and_the_snapshots_younger_than_the_age(lake_project):
    project = lake_project
    now = project.world.clock.now()
    # Three syncs over different windows, so that the lake's content differs between snapshots.
    assert project.sync("acme", end=now - timedelta(days=4), days=2).success
    old_snapshot = current_snapshot(project)
    old_conversions = sorted(project.query(CONVERSIONS))
    time.sleep(1.5)
    cutoff = datetime.now(UTC)
    time.sleep(1.5)
    assert project.sync("acme", end=now - timedelta(days=2), days=2, with_offers=False).success
    kept_snapshot = current_snapshot(project)
    kept_conversions = sorted(project.query(CONVERSIONS))
    assert project.sync("acme").success  # the standard 7 days: the ground truth's window
    before_times = snapshot_times(project)
    assert old_conversions != kept_conversions != sorted(project.query(CONVERSIONS))
    before_sums = checksums(project)
    files_before, parquet_before = live_data_files(project), parquet_files(project)

    warehouse = project.settings.warehouse()
    with warehouse.connect() as conn:
        stats = upkeep(conn, expire_older_than=datetime.now(UTC) - cutoff, file_grace=timedelta(0))

    # The same content in every table, and the ground truth's.
    assert checksums(project) == before_sums
    stored = project.query(
        "SELECT network, conversion_id, status, attribution_method FROM analytics.attributed_conversions"
    )
    truth = window_truth(project)
    truth = truth[truth.network_key == "acme"]
    assert sorted(stored) == sorted(
        (r.network_key, r.conversion_id, r.status, r.attribution_method) for r in truth.itertuples()
    )
    assert len(stored) > 0
    # Fewer files, in the catalog and on disk.
    assert stats.files_merged > 0
    assert live_data_files(project) < files_before
    assert stats.after.live_data_files < stats.before.live_data_files
    assert parquet_files(project) < parquet_before
    assert stats.after.files_on_disk < stats.before.files_on_disk
    assert stats.files_deleted > 0
    # Snapshots older than the age are gone, the younger ones all kept (upkeep adds its own).
    after_ids = set(snapshot_ids(project))
    older = {i for i, at in before_times.items() if at < cutoff}
    assert old_snapshot in older and kept_snapshot not in older
    assert not after_ids & older
    assert stats.snapshots_expired == len(older)
    assert after_ids >= set(before_times) - older
    ((oldest,),) = project.query("SELECT min(snapshot_time) FROM ducklake_snapshots('warehouse')")
    assert oldest >= cutoff
    # Time travel to a kept snapshot reads what it held then, through the merged files.
    assert (
        sorted(
            project.query(
                f"SELECT network, conversion_id, status, payout FROM warehouse.tune.conversions AT (VERSION => {kept_snapshot})"
            )
        )
        == kept_conversions
    )
    with pytest.raises(duckdb.Error):
        project.query(f"SELECT count(*) FROM warehouse.tune.conversions AT (VERSION => {old_snapshot})")


def test_the_job_runs_through_dagster_and_the_schedule_exists_on_a_lake_only(lake_project, tmp_path):
    project = lake_project
    assert project.sync("acme").success
    assert project.sync("acme", with_offers=False).success
    before_sums = checksums(project)
    snapshots_before = snapshot_ids(project)
    files_before = live_data_files(project)

    schedule = project.defs.get_schedule_def(LAKE_UPKEEP_SCHEDULE)
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == (
        "30 4 * * *",
        "UTC",
        LAKE_UPKEEP_JOB,
    )
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    # The whole code location as Dagster loads it (an op named like a job is refused there only).
    job = project.defs.get_repository_def().get_job(LAKE_UPKEEP_JOB)
    assert job.graph.node_named("lake_upkeep_step").definition.pool == "lake_shared"
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    (output,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    metadata = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    # The default 30-day retention: these minutes-old snapshots are all kept.
    assert metadata["snapshot_retention_days"] == 30
    assert metadata["snapshots_expired"] == 0
    assert set(snapshot_ids(project)) >= set(snapshots_before)
    assert metadata["files_merged"] > 0
    assert metadata["after_live_data_files"] == live_data_files(project) < files_before
    assert metadata["before_live_data_files"] == files_before
    # Files are deleted only 12 hours after they are replaced: a query begun before may read them.
    assert metadata["files_deleted"] == 0
    assert metadata["after_scheduled_for_deletion"] >= metadata["files_merged"]
    assert checksums(project) == before_sums

    # The same trackly.yaml on the DuckDB file: neither the job nor the schedule.
    duckdb_settings = load_config(project.root / "trackly.yaml").model_copy(update={"lake": None})
    duckdb_defs = build_definitions(duckdb_settings)
    assert LAKE_UPKEEP_JOB not in {job.name for job in duckdb_defs.resolve_all_job_defs()}
    with pytest.raises(dg.DagsterInvariantViolationError):
        duckdb_defs.get_schedule_def(LAKE_UPKEEP_SCHEDULE)
