"""Schedules, evaluated through Dagster's own APIs, and a scheduled run launched on an instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin

from trackly_pipeline.config import load_config
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.assets.offers import offers_asset_key
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.partitions import range_tags

from .conftest import write_config

pytestmark = pytest.mark.slow

TICK = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
PROJECT_INSTANCE = Path(__file__).resolve().parents[2] / ".dagster_home" / "dagster.yaml"


def tick_result(project, name: str, tick: datetime, instance: dg.DagsterInstance | None = None):
    """The tick as the daemon evaluates it, on a persistent instance (a schedule asks it for the
    network's unfinished runs): `instance`, else an empty one."""
    if instance is None:
        with dg.instance_for_test() as empty:
            return tick_result(project, name, tick, empty)
    repository = project.defs.get_repository_def()
    schedule = repository.get_schedule_def(name)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=repository)
    return schedule.evaluate_tick(context)


def evaluate(project, name: str, tick: datetime, instance: dg.DagsterInstance | None = None) -> dg.RunRequest:
    result = tick_result(project, name, tick, instance)
    assert len(result.run_requests) == 1
    return result.run_requests[0]


def test_exactly_one_sync_schedule_per_network_and_one_freshness_schedule(project):
    repository = project.defs.get_repository_def()
    names = sorted(s.name for s in repository.schedule_defs)
    assert names == ["sync_freshness_hourly", "tune_acme_hourly", "tune_bolt_hourly", "tune_cobalt_hourly"]
    syncs = [s for s in repository.schedule_defs if s.name.startswith("tune_")]
    assert [s.job_name for s in syncs] == ["tune_acme_sync", "tune_bolt_sync", "tune_cobalt_sync"]
    minutes = {s.cron_schedule.split()[0] for s in syncs}
    assert len(minutes) == 3  # staggered
    freshness = repository.get_schedule_def("sync_freshness_hourly")
    assert freshness.job_name == "sync_freshness"
    assert freshness.cron_schedule == "0 * * * *" and "0" not in minutes  # between the sync ticks
    for schedule in repository.schedule_defs:
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def with_the_default_partitions_start(project) -> None:
    """The project's trackly.yaml without the tests' partitions_start (conftest.PARTITIONS_START)."""
    write_config(project.root, project.server.api_url, partitions_start=None)
    project.settings = load_config(project.root / "trackly.yaml")
    project.defs = build_definitions(project.settings, clock=project.world.clock)


def test_ticks_before_the_first_partition_are_skipped(project):
    """partitions_start is 2026-01-01-00:00 here: a tick whose window would end at or before it has
    no hour to sync, and must not launch a run over a reversed range (which would 'succeed' with
    nothing swept and log a success in ops.sync_log)."""
    with_the_default_partitions_start(project)
    assert project.settings.partitions_start == "2026-01-01-00:00"  # the default
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for tick in (start - timedelta(days=3), start - timedelta(minutes=55), start + timedelta(minutes=5)):
        result = tick_result(project, "tune_acme_hourly", tick)
        assert result.run_requests == [] and "partitions_start 2026-01-01 00:00" in result.skip_message
    first = evaluate(project, "tune_acme_hourly", start + timedelta(hours=1, minutes=5))  # one hour so far
    assert (first.tags["dagster/asset_partition_range_start"], first.tags["dagster/asset_partition_range_end"]) == (
        "2026-01-01-00:00",
        "2026-01-01-00:00",
    )
    wide = evaluate(project, "tune_acme_hourly", start + timedelta(hours=3, minutes=5))  # the wide sweep's hour
    assert (wide.tags["dagster/asset_partition_range_start"], wide.tags["dagster/asset_partition_range_end"]) == (
        "2026-01-01-00:00",
        "2026-01-01-02:00",
    )


def test_tick_asks_for_the_trailing_seven_days_of_hours(project):
    request = evaluate(project, "tune_acme_hourly", TICK)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-13-12:00"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-11-20-11:00"
    partitions = project.defs.get_repository_def().get_job("tune_acme_sync").partitions_def
    keys = partitions.get_partition_keys_in_range(
        dg.PartitionKeyRange(
            request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]
        )
    )
    assert len(keys) == 7 * 24


def test_offer_sync_follows_each_networks_frequency(project):
    acme = evaluate(project, "tune_acme_hourly", TICK)  # auto, hourly
    assert offers_asset_key("acme") in acme.asset_selection
    bolt_noon = evaluate(project, "tune_bolt_hourly", TICK)  # auto, daily: only the midnight tick
    bolt_midnight = evaluate(project, "tune_bolt_hourly", TICK.replace(hour=0))
    assert offers_asset_key("bolt") not in bolt_noon.asset_selection
    assert offers_asset_key("bolt") in bolt_midnight.asset_selection
    cobalt = evaluate(project, "tune_cobalt_hourly", TICK.replace(hour=0))  # manual import only
    assert offers_asset_key("cobalt") not in cobalt.asset_selection


def test_scheduled_run_succeeds_on_a_real_instance(project):
    """Launch what the tick asks for, on an instance with the project's dagster.yaml: its pools
    (`duckdb`, `tune_api_<key>`) limited to one step at a time, as in production."""
    tick = project.world.clock.now() + timedelta(minutes=5)
    job = project.defs.get_job_def("tune_acme_sync")
    with dg.instance_for_test(overrides=yaml.safe_load(PROJECT_INSTANCE.read_text())) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        request = evaluate(project, "tune_acme_hourly", tick, instance)
        result = job.execute_in_process(instance=instance, tags=request.tags, asset_selection=request.asset_selection)
        assert result.success
        materialized = instance.get_materialized_partitions(dg.AssetKey(["tune", "acme", "conversions"]))
    assert len(materialized) == 7 * 24
    assert project.query("SELECT count(*) FROM tune.conversions WHERE network = 'acme'")[0][0] > 0


def test_daily_tick_sweeps_the_wide_window(project):
    request = evaluate(project, "tune_acme_hourly", TICK.replace(hour=3))  # wide_sweep_hour default 3
    assert request.tags["trackly/sweep"] == "wide"
    assert request.tags["dagster/asset_partition_range_start"] == "2026-10-06-03:00"  # 45 days
    assert evaluate(project, "tune_acme_hourly", TICK).tags["trackly/sweep"] == "hourly"


def test_wide_sweep_catches_changes_older_than_the_window(project):
    """Status changes on conversions older than 7 days reach the tables only through the wide sweep."""
    from trackly_pipeline.sandbox.expected_outputs import expected_conversions, read_fx_rates

    assert project.sync("acme", days=20).success
    project.world.clock.advance(timedelta(days=5))
    end = project.world.clock.now()
    fx = read_fx_rates(project.root / "fx_rates.csv")
    old = expected_conversions(project.world, end - timedelta(days=20), end - timedelta(days=7), fx)
    old = {r.conversion_id: r.status for r in old.itertuples() if r.network_key == "acme"}

    def stored_old() -> dict:
        return dict(
            project.query(
                "SELECT conversion_id, status FROM tune.conversions WHERE network = 'acme' "
                "AND converted_at >= $s AND converted_at < $e",
                {"s": end - timedelta(days=20), "e": end - timedelta(days=7)},
            )
        )

    assert project.sync("acme").success  # the hourly 7-day sweep
    stale = {k for k, v in old.items() if stored_old().get(k) != v}
    assert stale, "the sandbox changed statuses older than the window"
    assert project.sync("acme", days=20).success  # the wide sweep
    assert stored_old() == old


def acme_run(project, instance: dg.DagsterInstance, status: dg.DagsterRunStatus, sweep: str) -> dg.DagsterRun:
    """A run of acme's sync job, as its schedule tags it, in `status` on `instance`."""
    job = project.defs.get_job_def("tune_acme_sync")
    # Where the daemon would launch a queued run from: the code location of workspace.yaml.
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("trackly_pipeline"), "__repository__"), job.name
    )
    return instance.create_run_for_job(
        job, status=status, tags={"trackly/network": "acme", "trackly/sweep": sweep}, remote_job_origin=origin
    )


def test_tick_is_skipped_while_the_network_has_a_run_queued_or_in_progress(project):
    """A run of acme queued, then one in progress, on a real instance: acme's tick is skipped with
    a reason naming the run and its status (the UI's tick history shows it); bolt's tick and the
    freshness schedule still ask for their runs; once acme's run has ended its tick asks again."""
    with dg.instance_for_test() as instance:
        for status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTED):
            run = acme_run(project, instance, status, "hourly")
            result = tick_result(project, "tune_acme_hourly", TICK, instance)
            assert result.run_requests == []
            assert result.skip_message == (
                f"network 'acme' has a run queued or in progress: {run.run_id} ({status.value}); "
                "the first tick after it ends sweeps these hours"
            )
            assert evaluate(project, "tune_bolt_hourly", TICK, instance).tags["trackly/network"] == "bolt"
            assert len(tick_result(project, "sync_freshness_hourly", TICK, instance).run_requests) == 1
            instance.report_run_failed(run)
        assert evaluate(project, "tune_acme_hourly", TICK, instance).tags["trackly/network"] == "acme"


def test_tick_is_skipped_while_a_run_launched_from_the_asset_graph_sweeps_the_network(project):
    """ "Materialize" of acme's conversions in the asset graph runs Dagster's implicit asset job,
    which carries no network tag: acme's tick still sees it (by its assets) and is skipped; a run
    of bolt's assets does not skip acme's tick."""
    job = project.defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        bolt = instance.create_run_for_job(
            job,
            status=dg.DagsterRunStatus.STARTED,
            asset_selection=frozenset({conversions_asset_key("bolt")}),
            tags=range_tags("2026-11-13-12:00", "2026-11-20-11:00"),
        )
        assert evaluate(project, "tune_acme_hourly", TICK, instance).tags["trackly/network"] == "acme"
        instance.report_run_failed(bolt)
        acme = instance.create_run_for_job(
            job,
            status=dg.DagsterRunStatus.STARTED,
            asset_selection=frozenset({conversions_asset_key("acme")}),
            tags=range_tags("2026-11-13-12:00", "2026-11-20-11:00"),
        )
        assert "trackly/network" not in acme.tags
        result = tick_result(project, "tune_acme_hourly", TICK, instance)
        assert result.run_requests == []
        assert result.skip_message == (
            f"network 'acme' has a run queued or in progress: {acme.run_id} (STARTED); "
            "the first tick after it ends sweeps these hours"
        )


def test_a_test_connection_run_neither_waits_for_the_network_nor_skips_its_tick(project):
    """Test Connection is one API call: it carries no network tag, so the run queue (one tagged run
    per network) does not hold it behind a sync that may take hours, and a tick is not skipped for it."""
    job = project.defs.get_job_def("tune_acme_test_connection")
    assert "trackly/network" not in job.tags
    with dg.instance_for_test() as instance:
        instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
        assert evaluate(project, "tune_acme_hourly", TICK, instance).tags["trackly/network"] == "acme"


def test_the_daily_wide_sweep_queues_behind_an_hourly_run_and_never_piles_up(project):
    """On a network whose runs take over an hour, an hourly run is always in flight at 03:05: the
    wide sweep's tick still asks for its run (the run queue holds it until acme's run ends), so
    changes older than 7 days still arrive; only an unfinished wide sweep skips it."""
    wide_tick = TICK.replace(hour=3)  # wide_sweep_hour default 3
    with dg.instance_for_test() as instance:
        hourly = acme_run(project, instance, dg.DagsterRunStatus.STARTED, "hourly")
        assert evaluate(project, "tune_acme_hourly", wide_tick, instance).tags["trackly/sweep"] == "wide"
        wide = acme_run(project, instance, dg.DagsterRunStatus.QUEUED, "wide")
        result = tick_result(project, "tune_acme_hourly", wide_tick + timedelta(days=1), instance)
        assert result.run_requests == []
        assert result.skip_message.startswith(
            f"network 'acme' has a wide sweep queued or in progress: {wide.run_id} (QUEUED)"
        )
        assert hourly.run_id not in result.skip_message


def test_each_run_has_a_runtime_limit_sized_to_its_window(project):
    """Run monitoring's limit (dagster.yaml: an hour) is an hourly run's, over 7 days: the daily
    wide sweep over 45 days (1,080 hours) gets the same time per hour, 3600 * 1080 / 168 s, where an
    hour would end it every day on a slow network; no window gets less than the hour."""
    assert yaml.safe_load(PROJECT_INSTANCE.read_text())["run_monitoring"]["max_runtime_seconds"] == 3600
    assert evaluate(project, "tune_acme_hourly", TICK).tags["dagster/max_runtime"] == "3600"
    assert evaluate(project, "tune_acme_hourly", TICK.replace(hour=3)).tags["dagster/max_runtime"] == "23143"
    with_the_default_partitions_start(project)
    first_hours = evaluate(project, "tune_acme_hourly", datetime(2026, 1, 1, 2, 5, tzinfo=UTC))
    assert first_hours.tags["dagster/max_runtime"] == "3600"  # a 2-hour window: the floor
