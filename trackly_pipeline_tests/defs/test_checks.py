"""The checks that watch a network's health, through real Dagster runs against the sandbox over HTTP:
`sync_is_fresh` evaluated by its own hourly schedule while every sync fails, after a backfill of old
hours, a refused run over hours that have not ended, a failed attribution and a failed blocking check, and
`unattributed_share` taken over the recent week, not diluted by the whole history."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import dagster as dg
import pytest

from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.checks import FRESHNESS_CHECK, MAX_UNATTRIBUTED_SHARE, NETWORKS_CHECK
from trackly_pipeline.defs.jobs import FRESHNESS_JOB
from trackly_pipeline.defs.metadata import window_text
from trackly_pipeline.defs.schedules import FRESHNESS_SCHEDULE
from trackly_pipeline.sandbox import FaultRule
from trackly_pipeline.warehouse.database import Warehouse

from .conftest import table_checksums

pytestmark = pytest.mark.slow


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


def fresh_at(project, tick: datetime) -> dict[str, dg.AssetCheckEvaluation]:
    """Move the present (the sandbox's clock, which is the pipeline's) to `tick` and run the
    freshness schedule's tick there."""
    project.world.clock.set(tick)
    return freshness_tick(project, tick)


def utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def network_sync_log(project, network_key: str) -> list[tuple]:
    """The network's own rows of ops.sync_log (sweeps, offers, attribution), not the Trackly log loads."""
    return project.query("SELECT * FROM ops.sync_log WHERE network = $network ORDER BY ALL", {"network": network_key})


def test_sync_is_fresh_warns_on_its_own_schedule_while_every_sync_fails(project):
    """One good sync at hour H (its window ends at H), then TUNE rejects the token for good. The
    sync runs of the following hours fail, and in them the check is skipped; the freshness
    schedule's runs at (H+1):00, (H+2):00 and (H+3):00 still evaluate it, and it warns once the
    newest fresh hour ended more than the limit ago (3 h at (H+3):00)."""
    hour = project.world.clock.now()  # ANCHOR, on the hour
    good = project.sync("acme")
    assert good.success
    assert evaluations(good, FRESHNESS_CHECK)["acme"].passed  # evaluated after a successful attribution

    project.server.add_fault(FaultRule("invalid_token", times=None))
    passed = {}
    for k in (1, 2, 3):
        checks = fresh_at(project, hour + timedelta(hours=k))
        assert set(checks) == {"acme", "bolt", "cobalt"}
        acme = checks["acme"]
        assert acme.severity == dg.AssetCheckSeverity.WARN
        passed[k] = acme.passed
        assert acme.metadata["fresh_through"].value == utc(hour)
        assert acme.metadata["age_minutes"].value == 60 * k
        # Networks that never synced are not fresh either.
        assert not checks["bolt"].passed
        assert checks["bolt"].description == "stale: no conversion sweep has reached the present yet"

        project.world.clock.set(hour + timedelta(hours=k, minutes=5))
        failed = project.sync("acme", with_offers=False)  # the tick of hour H+k, rejected by TUNE
        assert not failed.success
        assert "acme" not in evaluations(failed, FRESHNESS_CHECK)  # skipped: the sweep failed
        assert project.query(
            "SELECT status FROM ops.sync_log WHERE network = 'acme' AND kind = 'conversions' "
            "ORDER BY started_at DESC LIMIT 1"
        ) == [("failed",)]

    assert passed == {1: True, 2: True, 3: False}
    assert acme.description == (
        f"stale: data through {utc(hour)}, 3 h 00 min ago (over the 2 h 00 min limit): "
        f"no sweep reaching the present since {utc(hour)}"
    )


def test_a_backfill_of_old_hours_after_failed_ticks_does_not_make_a_network_fresh(synced):
    """Four hourly ticks fail, then a backfill of two days a week back succeeds: the newest hour
    swept to the present is still the one before the failures, 5 h old at the next freshness tick."""
    project = synced("acme")
    hour = project.world.clock.now()
    assert fresh_at(project, hour + timedelta(hours=1))["acme"].passed

    project.server.add_fault(FaultRule("invalid_token", times=None))
    for k in (1, 2, 3, 4):
        project.world.clock.set(hour + timedelta(hours=k, minutes=5))
        assert not project.sync("acme", with_offers=False).success
    project.server.clear_faults()
    project.world.clock.set(hour + timedelta(hours=4, minutes=20))
    backfill = project.sync("acme", end=hour - timedelta(days=7), days=2, with_offers=False)
    assert backfill.success

    acme = fresh_at(project, hour + timedelta(hours=5))["acme"]
    assert not acme.passed
    assert acme.metadata["fresh_through"].value == utc(hour)
    assert acme.metadata["swept_through"].value == utc(hour)  # the backfill's hours are not the present's
    assert acme.metadata["age_minutes"].value == 300
    assert acme.description.endswith(f"no sweep reaching the present since {utc(hour)}")


def test_a_run_over_hours_that_have_not_ended_is_refused_before_anything_and_freshness_stays(synced):
    """At 15:30 the last full hour ends at 15:00. A sync over hours up to 18:00 fails at once: no
    call to TUNE, no table changed, no sweep or attribution in ops.sync_log (the Trackly log loads of
    the run, which touch no hour, still run), and freshness says what it said."""
    project = synced("acme")
    hour = project.world.clock.now()  # 12:00
    before = fresh_at(project, hour + timedelta(hours=3, minutes=30))["acme"]
    assert not before.passed and before.metadata["fresh_through"].value == utc(hour)
    calls, log, tables = len(project.server.requests), network_sync_log(project, "acme"), table_checksums(project)

    future = project.sync("acme", end=hour + timedelta(hours=6), days=1, with_offers=False)
    assert not future.success
    [failure] = future.get_step_failure_events()
    assert failure.step_key == "tune__acme__conversions"
    message = failure.event_specific_data.error.message
    assert (
        "the run's hours (2026-11-19 18:00 to 2026-11-20 18:00 UTC) end after the last full hour "
        "(the present is 2026-11-20 15:30 UTC)"
    ) in message
    assert "at or before 2026-11-20 15:00 UTC" in message
    # Attribution alone over those hours is refused the same way.
    job = project.defs.get_job_def("tune_acme_sync")
    alone = job.execute_in_process(
        instance=project.instance,
        tags=future.dagster_run.tags,
        raise_on_error=False,
        asset_selection=[attributed_asset_key("acme")],
    )
    assert not alone.success
    assert "attribution refused" in alone.get_step_failure_events()[0].event_specific_data.error.message

    assert (
        len(project.server.requests) == calls
        and network_sync_log(project, "acme") == log
        and table_checksums(project) == tables
    )
    after = freshness_tick(project, hour + timedelta(hours=3, minutes=30))["acme"]
    assert (after.passed, after.description) == (before.passed, before.description)


def test_an_attribution_logged_over_future_hours_by_an_older_version_does_not_count(synced):
    """A version before the refusal of unended hours logged a run over the next day as a
    successful attribution (0 rows, no present_at). Once attribution fails, that row must not keep
    the network fresh until its future hour comes: the last real attribution counts."""
    project = synced("acme")
    hour = project.world.clock.now()
    with Warehouse(project.settings.duckdb_path).connect() as conn:
        conn.execute(
            "INSERT INTO ops.sync_log VALUES ($id, 'acme', 'attribution', $start, $end, $at, $at, 0.1, 0, 0, 0, "
            "'success', NULL, NULL, NULL)",
            {"id": uuid.uuid4().hex, "start": hour, "end": hour + timedelta(days=1), "at": hour},
        )
    (project.root / "fx_rates.csv").rename(project.root / "fx_rates.moved")  # attribution now fails
    project.world.clock.set(hour + timedelta(hours=3, minutes=5))
    run = project.sync("acme", with_offers=False)
    assert [e.step_key for e in run.get_step_failure_events()] == ["analytics__acme__attributed_conversions"]

    acme = fresh_at(project, hour + timedelta(hours=4))["acme"]
    assert not acme.passed
    assert acme.metadata["attributed_through"].value == utc(hour)


def test_a_sweep_whose_attribution_fails_is_not_fresh(synced):
    """The sweeps keep reaching the present, but attribution fails (the rates file is gone): the
    analysts' tables stop at the last attributed hour, and freshness says so."""
    project = synced("acme")
    hour = project.world.clock.now()
    (project.root / "fx_rates.csv").rename(project.root / "fx_rates.moved")
    project.world.clock.set(hour + timedelta(hours=3, minutes=5))
    run = project.sync("acme", with_offers=False)
    assert not run.success
    assert [e.step_key for e in run.get_step_failure_events()] == ["analytics__acme__attributed_conversions"]

    acme = fresh_at(project, hour + timedelta(hours=4))["acme"]
    assert not acme.passed
    assert acme.metadata["swept_through"].value == utc(hour + timedelta(hours=3))
    assert acme.metadata["attributed_through"].value == utc(hour)
    assert acme.description == (
        f"stale: data through {utc(hour)}, 4 h 00 min ago (over the 2 h 00 min limit): swept through "
        f"{utc(hour + timedelta(hours=3))} but not attributed since {utc(hour)} (attribution failed, or was "
        "skipped after a failed blocking check)"
    )


def test_a_network_blocked_by_its_blocking_check_is_not_fresh(synced):
    """A second stored copy of a conversion ten days back, outside the hourly window that would
    replace it: every sweep of the network fails before it commits (the duplicate check holds
    inside its transaction), so nothing new is attributed and the analytics stop at the last good
    hour, while `no_duplicate_conversions` names the repair."""
    project = synced("acme", days=14)
    hour = project.world.clock.now()
    with Warehouse(project.settings.duckdb_path).connect() as conn:
        conn.execute(
            "INSERT INTO tune.conversions SELECT * FROM tune.conversions WHERE network = 'acme' "
            "AND converted_at < $before ORDER BY conversion_id LIMIT 1",
            {"before": hour - timedelta(days=10)},
        )
    project.world.clock.set(hour + timedelta(hours=3, minutes=5))
    run = project.sync("acme", with_offers=False)
    assert not run.success
    assert "trackly network dedupe acme" in str(run.all_events)
    assert attributed_asset_key("acme") not in {e.asset_key for e in run.get_asset_materialization_events()}

    acme = fresh_at(project, hour + timedelta(hours=4))["acme"]
    assert not acme.passed
    assert acme.description.endswith(f"no sweep reaching the present since {utc(hour)}")


def unattributed_shares(project, start: datetime | None = None, end: datetime | None = None) -> float:
    where = "AND converted_at >= $start AND converted_at < $end" if start else ""
    params = {"start": start, "end": end} if start else {}
    [(unattributed, total)] = project.query(
        "SELECT count(*) FILTER (WHERE attribution_method = 'unattributed'), count(*) "
        f"FROM analytics.attributed_conversions WHERE network = 'acme' AND NOT is_adjustment {where}",
        params,
    )
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
    [(latest,)] = project.query(
        "SELECT max(converted_at) FROM analytics.attributed_conversions WHERE network = 'acme' AND NOT is_adjustment"
    )
    alone_end = latest.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    job = dg.define_asset_job(
        "unattributed_share_alone",
        selection=dg.AssetSelection.checks(dg.AssetCheckKey(attributed_asset_key("acme"), "unattributed_share")),
    )
    defs = dg.Definitions.merge(project.defs, dg.Definitions(jobs=[job]))
    alone = defs.get_job_def("unattributed_share_alone").execute_in_process(instance=project.instance)
    check = evaluations(alone, "unattributed_share")["acme"]
    assert check.metadata["window"].value == window_text(alone_end - timedelta(days=7), alone_end)
    assert check.metadata["share"].value == round(
        unattributed_shares(project, alone_end - timedelta(days=7), alone_end), 4
    )
    assert not check.passed
