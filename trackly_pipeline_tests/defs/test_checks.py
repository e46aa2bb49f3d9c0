"""The checks that watch a network's health, through real Dagster runs against the sandbox over HTTP:
`sync_is_fresh` evaluated by its own hourly schedule while every sync fails, and
`unattributed_share` taken over the recent week, not diluted by the whole history."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import dagster as dg

from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.checks import FRESHNESS_CHECK, FRESHNESS_LIMIT, MAX_UNATTRIBUTED_SHARE, NETWORKS_CHECK
from trackly_pipeline.defs.jobs import FRESHNESS_JOB
from trackly_pipeline.defs.metadata import window_text
from trackly_pipeline.defs.schedules import FRESHNESS_SCHEDULE
from trackly_pipeline.sandbox import FaultRule
from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.ops import SyncLogEntry, record_sync


def evaluations(result: dg.ExecuteInProcessResult, check_name: str) -> dict[str, dg.AssetCheckEvaluation]:
    """The run's evaluations of one check, by network key."""
    return {e.asset_key.path[1]: e for e in result.get_asset_check_evaluations() if e.check_name == check_name}


def freshness_tick(project, tick: datetime) -> dict[str, dg.AssetCheckEvaluation]:
    """Evaluate the freshness schedule at `tick` and run what it asks for, as the daemon would."""
    repository = project.defs.get_repository_def()
    schedule = repository.get_schedule_def(FRESHNESS_SCHEDULE)
    context = dg.build_schedule_context(
        instance=project.instance, scheduled_execution_time=tick, repository_def=repository
    )
    [request] = schedule.evaluate_tick(context).run_requests
    assert schedule.job_name == FRESHNESS_JOB
    result = project.defs.get_job_def(schedule.job_name).execute_in_process(
        instance=project.instance, tags=request.tags, run_config=request.run_config
    )
    assert result.success
    # The freshness checks (and stored_networks_configured, the rollups' refusal) alone: no asset
    # materialized (no sync, no API call), no other check.
    assert not result.get_asset_materialization_events()
    assert {e.check_name for e in result.get_asset_check_evaluations()} == {FRESHNESS_CHECK, NETWORKS_CHECK}
    return evaluations(result, FRESHNESS_CHECK)


def backdate_last_success(project, network_key: str, finished_at: datetime) -> None:
    """Rewrite the network's last successful conversion sync as if it had finished at `finished_at`,
    through the pipeline's own record_sync: the row is the one that sync would have left then."""
    with Warehouse(project.settings.duckdb_path).connect() as conn, transaction(conn):
        cursor = conn.execute(
            "SELECT * EXCLUDE (duration_s) FROM ops.sync_log WHERE network = $network AND kind = 'conversions' "
            "AND status = 'success' ORDER BY finished_at DESC LIMIT 1", {"network": network_key})
        entry = SyncLogEntry(**dict(zip([d[0] for d in cursor.description], cursor.fetchone())))
        shift = finished_at - entry.finished_at
        record_sync(conn, replace(entry, started_at=entry.started_at + shift, finished_at=finished_at))


def test_sync_is_fresh_warns_on_its_own_schedule_while_every_sync_fails(project):
    """One good sync at hour H (tick H:05, done about H:06), then TUNE rejects the token for good.
    The sync runs of the following hours fail, and in them the check is skipped; the freshness
    schedule's runs at (H+1):00, (H+2):00 and (H+3):00 still evaluate it, and it warns once the
    last success is older than the limit (2 h 54 min at (H+3):00).

    Wall time cannot be made to pass in a test: the check keeps its real limit and real clock, and
    the good sync's row in ops.sync_log is rewritten (through record_sync) to the time it would
    carry had it finished at H:06."""
    good = project.sync("acme")
    assert good.success
    assert evaluations(good, FRESHNESS_CHECK)["acme"].passed  # still evaluated after a successful sweep

    hour = project.world.clock.now().replace(minute=0, second=0, microsecond=0)
    finished = hour + timedelta(minutes=6)
    project.server.add_fault(FaultRule("invalid_token", times=None))
    passed = {}
    for k in (1, 2, 3):
        tick = hour + timedelta(hours=k)
        backdate_last_success(project, "acme", datetime.now(timezone.utc) - (tick - finished))
        checks = freshness_tick(project, tick)
        assert set(checks) == {"acme", "bolt", "cobalt"}
        acme = checks["acme"]
        assert acme.severity == dg.AssetCheckSeverity.WARN
        passed[k] = acme.passed
        age = acme.metadata["age_minutes"].value
        assert (tick - finished).total_seconds() / 60 <= age < (tick - finished).total_seconds() / 60 + 5
        assert acme.passed == (age <= FRESHNESS_LIMIT.total_seconds() / 60)
        # Networks that never synced are not fresh either.
        assert not checks["bolt"].passed and checks["bolt"].description == "no successful conversion sync yet"

        project.world.clock.advance(timedelta(hours=1))
        failed = project.sync("acme", with_offers=False)  # the tick of hour H+k, rejected by TUNE
        assert not failed.success
        assert "acme" not in evaluations(failed, FRESHNESS_CHECK)  # skipped: the sweep failed
        assert project.query(
            "SELECT status FROM ops.sync_log WHERE network = 'acme' AND kind = 'conversions' "
            "ORDER BY started_at DESC LIMIT 1") == [("failed",)]

    assert passed == {1: True, 2: True, 3: False}
    assert "over the 2 h 00 min limit" in acme.description


def unattributed_shares(project, start: datetime | None = None, end: datetime | None = None) -> float:
    where = "AND converted_at >= $start AND converted_at < $end" if start else ""
    params = {"start": start, "end": end} if start else {}
    [(unattributed, total)] = project.query(
        "SELECT count(*) FILTER (WHERE attribution_method = 'unattributed'), count(*) "
        f"FROM analytics.attributed_conversions WHERE network = 'acme' AND NOT is_adjustment {where}", params)
    return unattributed / total


def test_unattributed_share_is_taken_over_the_recent_week(project):
    """20 healthy days, then Trackly's logs stop arriving for the last two: over the whole history
    the share stays under the limit (the break is diluted), over the last 7 days it is well over."""
    healthy = project.sync("acme", days=20)
    assert healthy.success
    assert evaluations(healthy, "unattributed_share")["acme"].passed

    broken_since = (project.world.clock.now() - timedelta(days=2)).date()
    logs = sorted((project.root / "logs").glob("*/*.parquet"))
    for path in logs:  # clicks-YYYY-MM-DD.parquet, messages-YYYY-MM-DD.parquet
        if date.fromisoformat(path.stem.split("-", 1)[1]) >= broken_since:
            path.unlink()
    result = project.sync("acme", with_offers=False)  # the next hourly tick: 7 days
    assert result.success

    end = project.world.clock.now().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=7)
    recent = unattributed_shares(project, start, end)
    assert unattributed_shares(project) <= MAX_UNATTRIBUTED_SHARE < recent  # diluted over the history
    check = evaluations(result, "unattributed_share")["acme"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["share"].value == round(recent, 4)
    assert check.metadata["window"].value == window_text(start, end)
    assert check.metadata["window_ends_at"].value == "the end of the run's partition window"

    # Run alone (no partition window, as from the UI), it takes the 7 days up to the latest conversion.
    [(latest,)] = project.query("SELECT max(converted_at) FROM analytics.attributed_conversions "
                                "WHERE network = 'acme' AND NOT is_adjustment")
    alone_end = latest.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    job = dg.define_asset_job("unattributed_share_alone", selection=dg.AssetSelection.checks(
        dg.AssetCheckKey(attributed_asset_key("acme"), "unattributed_share")))
    defs = dg.Definitions.merge(project.defs, dg.Definitions(jobs=[job]))
    alone = defs.get_job_def("unattributed_share_alone").execute_in_process(instance=project.instance)
    check = evaluations(alone, "unattributed_share")["acme"]
    assert check.metadata["window"].value == window_text(alone_end - timedelta(days=7), alone_end)
    assert check.metadata["share"].value == round(unattributed_shares(project, alone_end - timedelta(days=7), alone_end), 4)
    assert not check.passed
