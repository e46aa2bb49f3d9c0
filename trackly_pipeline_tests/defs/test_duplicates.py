"""A conversion stored twice where no sweep reaches it (an older version, a hand edit): the blocking
check holds before anything is committed or published, and `trackly network dedupe` repairs it."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import dagster as dg
import duckdb
import pytest

from trackly_pipeline import network_dedupe
from trackly_pipeline.cli import main as trackly_main
from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.jobs import sync_job_name
from trackly_pipeline.defs.partitions import range_tags, trailing_window
from trackly_pipeline.warehouse.database import Warehouse

from ..test_cli import HOLD_WRITE_LOCK
from ..warehouse.test_publish import assert_copy_equals_warehouse
from .conftest import EARLIEST, table_checksums
from .test_checks import evaluations, fresh_at, utc
from .test_pipeline_ground_truth import window_truth

pytestmark = pytest.mark.slow

REPAIR = "trackly network dedupe acme"


def copy_checksums(project) -> dict[str, str]:
    """A content checksum of every table and view of the analysts' copy, opened as analysts do."""
    copy = Warehouse(project.settings.duckdb_path).published_path
    with duckdb.connect(str(copy), read_only=True) as conn:
        names = conn.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
        return {
            f"{schema}.{name}": hashlib.sha256(
                repr(conn.execute(f'SELECT * FROM "{schema}"."{name}" ORDER BY ALL').fetchall()).encode()
            ).hexdigest()
            for schema, name in names
        }


def plant_duplicate(project) -> int:
    """Store acme's first approved conversion of November a second time, in tune.conversions and in
    analytics.attributed_conversions, with a plain DuckDB connection (no publish marks, no log)."""
    with duckdb.connect(str(project.settings.duckdb_path)) as conn:
        conversion_id = conn.execute(
            "SELECT arg_min(conversion_id, converted_at) FROM trackly.tune.conversions "
            "WHERE network = 'acme' AND status = 'approved' AND converted_at >= TIMESTAMPTZ '2026-11-01 00:00:00+00'"
        ).fetchone()[0]
        for table in ("tune.conversions", "analytics.attributed_conversions"):
            conn.execute(
                f"INSERT INTO trackly.{table} SELECT * FROM trackly.{table} "
                "WHERE network = 'acme' AND conversion_id = $id",
                {"id": conversion_id},
            )
    return conversion_id


def failure_message(result) -> str:
    return result.get_step_failure_events()[0].event_specific_data.error.message


def duplicate_check(project) -> dg.AssetCheckEvaluation:
    """acme's no_duplicate_conversions, run on its own as Dagster runs a check job."""
    key = dg.AssetCheckKey(conversions_asset_key("acme"), "no_duplicate_conversions")
    defs = dg.Definitions.merge(
        project.defs,
        dg.Definitions(jobs=[dg.define_asset_job("acme_duplicates", selection=dg.AssetSelection.checks(key))]),
    )
    result = defs.get_job_def("acme_duplicates").execute_in_process(instance=project.instance, raise_on_error=False)
    return result.get_asset_check_evaluations()[0]


def test_a_stuck_duplicate_is_never_published_fails_the_sweep_and_dedupe_repairs_it(synced, monkeypatch, capsys):
    # 25 days of acme (early November: days no 7-day sweep reaches again), 7 of bolt.
    project = synced("acme", days=25)
    assert project.sync("bolt").success
    published = copy_checksums(project)
    conversion_id = plant_duplicate(project)

    # Another network's run: its own sweep and attribution are stored; the copy is not published.
    bolt = project.sync("bolt")
    assert not bolt.success
    message = failure_message(bolt)
    assert "the analysts' copy was not published" in message
    assert (
        f"network 'acme': 1 conversion(s) stored more than once in tune.conversions (conversion_id {conversion_id}"
        in message
    )
    assert "analytics.attributed_conversions" in message and REPAIR in message
    assert copy_checksums(project) == published
    assert project.query("SELECT count(*) > 0 FROM ops.publish_pending") == [(True,)]  # kept for the next publish

    # acme's own sweep fails before it commits: nothing stored, nothing marked for publishing.
    before = table_checksums(project)
    acme = project.sync("acme", with_offers=False)
    assert not acme.success
    message = failure_message(acme)
    assert "TUNE conversions sync for network 'acme' failed" in message
    assert (
        f"1 conversion(s) stored more than once in tune.conversions (conversion_id {conversion_id} (2 rows))" in message
        and REPAIR in message
    )
    assert table_checksums(project) == before
    assert project.query(
        "SELECT status FROM ops.sync_log WHERE network = 'acme' AND kind = 'conversions' "
        "ORDER BY started_at DESC LIMIT 1"
    ) == [("failed",)]
    check = duplicate_check(project)
    # The copy planted in each table, both of which the publish refuses on.
    assert not check.passed and check.metadata["duplicates"].value == 2 and REPAIR in check.description

    # The repair, then the next hourly sync: one row per conversion, and the totals are TUNE's.
    monkeypatch.setenv("TRACKLY_CONFIG", str(project.root / "trackly.yaml"))
    assert trackly_main(["network", "dedupe", "acme"]) == 0
    printed = capsys.readouterr().out
    assert "removed 1 extra row(s) from tune.conversions and 1 from analytics.attributed_conversions" in printed
    assert project.query("SELECT table_name, conversion_id FROM ops.removed_duplicates ORDER BY 1") == [
        ("analytics.attributed_conversions", conversion_id),
        ("tune.conversions", conversion_id),
    ]
    assert trackly_main(["network", "dedupe", "acme"]) == 0
    assert "no conversion stored more than once; nothing changed" in capsys.readouterr().out

    assert project.sync("acme").success
    assert duplicate_check(project).passed
    truth = window_truth(project, days=25)
    approved = truth[(truth.network_key == "acme") & (truth.status == "approved")]
    expected = round(sum(approved.payout_reporting, Decimal(0)), 2)
    assert (
        round(project.query("SELECT sum(revenue) FROM analytics.revenue_by_offer WHERE network = 'acme'")[0][0], 2)
        == expected
    )
    warehouse = Warehouse(project.settings.duckdb_path)
    assert_copy_equals_warehouse(warehouse)
    with duckdb.connect(str(warehouse.published_path), read_only=True) as copy:
        assert copy.execute(
            "SELECT count(*) FROM tune.conversions WHERE network = 'acme' AND conversion_id = $id",
            {"id": conversion_id},
        ).fetchone() == (1,)
        total = copy.execute("SELECT sum(revenue) FROM analytics.revenue_by_offer WHERE network = 'acme'").fetchone()[0]
    assert round(total, 2) == expected


def test_dedupe_says_in_one_line_that_the_warehouse_is_locked(synced, monkeypatch, capsys):
    project = synced("acme")
    plant_duplicate(project)
    monkeypatch.setenv("TRACKLY_CONFIG", str(project.root / "trackly.yaml"))
    monkeypatch.setattr(network_dedupe, "LOCK_WAIT_S", 0.5)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(project.settings.duckdb_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        capsys.readouterr()  # the sync's log lines
        assert trackly_main(["network", "dedupe", "acme"]) == 1
    finally:
        holder.kill()
        holder.wait(timeout=30)
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err.count("\n") == 1
    assert printed.err.startswith("trackly network dedupe: warehouse locked by another process")
    assert f"process {holder.pid}" in printed.err
    assert project.query(
        "SELECT count(*) FROM tune.conversions WHERE network = 'acme' GROUP BY conversion_id HAVING count(*) > 1"
    ) == [(2,)]  # nothing removed


def test_a_duplicate_attribution_alone_fails_the_networks_checks_and_its_attribution(synced):
    project = synced("acme", days=14)
    hour = project.world.clock.now()
    with Warehouse(project.settings.duckdb_path).connect() as conn:  # 10 days back: no window reaches it
        conversion_id = conn.execute(
            "INSERT INTO analytics.attributed_conversions SELECT * FROM analytics.attributed_conversions "
            "WHERE network = 'acme' AND converted_at < $before ORDER BY conversion_id LIMIT 1 RETURNING conversion_id",
            {"before": hour - timedelta(days=10)},
        ).fetchone()[0]

    # The sync: the blocking check fails, so the attribution is skipped and acme is not fresh.
    project.world.clock.set(hour + timedelta(hours=3, minutes=5))
    run = project.sync("acme", with_offers=False)
    assert not run.success
    duplicate = evaluations(run, "no_duplicate_conversions")["acme"]
    assert not duplicate.passed
    assert (
        f"stored more than once in analytics.attributed_conversions (conversion_id {conversion_id} (2 rows))"
        in duplicate.description
        and REPAIR in duplicate.description
    )
    assert not fresh_at(project, hour + timedelta(hours=4))["acme"].passed

    # The attribution on its own (a backfill of attribution only) refuses before it commits.
    before = table_checksums(project)
    first, last = trailing_window(hour + timedelta(hours=3), 7, EARLIEST)
    attribution = project.defs.get_job_def(sync_job_name("acme")).execute_in_process(
        instance=project.instance,
        tags=range_tags(first, last),
        asset_selection=[attributed_asset_key("acme")],
        raise_on_error=False,
    )
    assert not attribution.success
    message = failure_message(attribution)
    assert "the attribution of network 'acme' was not stored" in message and REPAIR in message
    assert table_checksums(project) == before


def test_a_network_whose_new_data_another_networks_duplicate_keeps_from_analysts_is_not_fresh(synced):
    project = synced("acme", days=14)
    hour = project.world.clock.now()
    assert project.sync("bolt").success
    assert fresh_at(project, hour + timedelta(minutes=30))["bolt"].passed
    with Warehouse(project.settings.duckdb_path).connect() as conn:  # acme's stuck duplicate, 10 days back
        conn.execute(
            "INSERT INTO tune.conversions SELECT * FROM tune.conversions WHERE network = 'acme' "
            "AND converted_at < $before ORDER BY conversion_id LIMIT 1",
            {"before": hour - timedelta(days=10)},
        )

    project.world.clock.set(hour + timedelta(hours=3, minutes=5))
    bolt = project.sync("bolt", with_offers=False)
    assert not bolt.success  # only the publish failed: bolt's sweep and attribution are stored
    newest = project.query("SELECT max(converted_at) FROM analytics.attributed_conversions WHERE network = 'bolt'")[0][
        0
    ]
    with duckdb.connect(str(Warehouse(project.settings.duckdb_path).published_path), read_only=True) as copy:
        published = copy.execute(
            "SELECT max(converted_at) FROM analytics.attributed_conversions WHERE network = 'bolt'"
        ).fetchone()[0]
    assert published < newest  # analysts do not see bolt's last 3 hours

    bolt_fresh = fresh_at(project, hour + timedelta(hours=4))["bolt"]
    assert not bolt_fresh.passed
    assert "not published since" in bolt_fresh.description and "failed rollups row" in bolt_fresh.description
    # Attributed through the present hour, published only through the last publish's: hour.
    assert bolt_fresh.metadata["attributed_through"].value == utc(hour + timedelta(hours=3))
    assert bolt_fresh.metadata["published_through"].value == utc(hour)
    assert bolt_fresh.metadata["fresh_through"].value == utc(hour)
