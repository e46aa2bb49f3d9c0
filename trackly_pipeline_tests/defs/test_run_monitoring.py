"""A run whose process is killed while it holds a concurrency-pool slot: with the shipped
dagster.yaml the daemon's run monitoring fails it and frees the slot, and later runs go on (without
it the run stays STARTED and every later step in that pool waits forever)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg
import pytest
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster._daemon.daemon import MonitoringDaemon
from dagster._utils.error import SerializableErrorInfo

from trackly_pipeline.defs.jobs import sync_job_name
from trackly_pipeline.defs.partitions import range_tags, trailing_window
from trackly_pipeline.defs.resources import api_pool
from trackly_pipeline.sandbox import FaultRule

from .conftest import EARLIEST
from .test_concurrency import instance_home

pytestmark = pytest.mark.slow  # a run in a subprocess, killed mid-sync

# An acme sync as a schedule tick runs it, offers included, on the instance in $DAGSTER_HOME.
CHILD = """
import sys
import dagster as dg
from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.jobs import sync_job_name
from trackly_pipeline.defs.partitions import range_tags
defs = build_definitions(load_config())
with dg.DagsterInstance.get() as instance:
    defs.get_job_def(sync_job_name("acme")).execute_in_process(
        instance=instance, tags={**range_tags(sys.argv[1], sys.argv[2]), "trackly/network": "acme"})
"""


def claimed(instance: dg.DagsterInstance, pool: str) -> list[tuple[str, str]]:
    info = instance.event_log_storage.get_concurrency_info(pool)
    return [(slot.run_id, slot.step_key) for slot in info.claimed_slots]


def monitor_once(daemon: MonitoringDaemon, context) -> None:
    """One pass of the monitoring daemon's loop: run monitoring, then freeing finished runs' slots."""
    errors = [e for e in daemon.run_iteration(context) if isinstance(e, SerializableErrorInfo)]
    assert errors == [], [e.to_string() for e in errors]


def test_a_killed_run_is_failed_and_its_pool_slot_freed(project, tmp_path):
    """An acme sync killed (SIGKILL) while it holds acme's API pool slot, on an instance with the
    project's dagster.yaml; one pass of the monitoring daemon at each of its limits fails the run,
    then frees the slot; acme's next sync then runs."""
    pool = api_pool("acme")
    home = instance_home(tmp_path)  # the project's dagster.yaml
    first, last = trailing_window(project.world.clock.now(), 1, EARLIEST)
    # acme's offer catalog (fetched inside acme's API pool) answers after 30 s: the run is killed then.
    project.server.add_fault(FaultRule("slow", times=None, method="Offer::findAll", network_id="acmenet", delay=30))
    env = {**os.environ, "TRACKLY_CONFIG": str(project.root / "trackly.yaml"), "DAGSTER_HOME": str(home)}

    with dg.DagsterInstance.from_config(str(home)) as instance, open(tmp_path / "child.err", "w") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, first, last], env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        try:
            deadline = time.monotonic() + 60
            while not (project.server.injected and claimed(instance, pool)):
                assert child.poll() is None, (tmp_path / "child.err").read_text()[-3000:]
                assert time.monotonic() < deadline, "the run never fetched offers holding the pool slot"
                time.sleep(0.05)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()

        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.STARTED
        [(holder, step)] = claimed(instance, pool)
        assert holder == run.run_id and "offers" in step

        # `dagster dev` (and `dagster-daemon run`) start the monitoring daemon only when it is enabled.
        assert MonitoringDaemon.daemon_type() in instance.get_required_daemon_types()
        daemon = MonitoringDaemon(interval_seconds=instance.run_monitoring_poll_interval_seconds)
        # Monitoring a run launched in process needs no code location: an empty workspace.
        with create_test_daemon_workspace_context(EmptyWorkspaceTarget(), instance) as context:
            monitor_once(daemon, context)  # a run younger than max_runtime_seconds is left alone
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED

            # Dagster's clock moved past the instance's limits instead of waiting an hour for them.
            run_started = instance.get_run_record_by_id(run.run_id).start_time
            failed_at = run_started + instance.run_monitoring_max_runtime_seconds + 1
            with freeze_time(failed_at):
                monitor_once(daemon, context)
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
            assert claimed(instance, pool) == [(run.run_id, step)]  # failing a run frees nothing

            free_slots_after = instance.run_monitoring_settings.get("free_slots_after_run_end_seconds", 0)
            with freeze_time(failed_at + free_slots_after + 1):
                monitor_once(daemon, context)
        for name in ("duckdb", pool):
            assert claimed(instance, name) == []
        assert instance.event_log_storage.get_concurrency_run_ids() == set()

        # acme's next sync gets the pool.
        project.server.clear_faults()
        started = time.monotonic()
        result = project.defs.get_job_def(sync_job_name("acme")).execute_in_process(
            instance=instance, tags=range_tags(first, last), raise_on_error=False
        )
        assert result.success
        assert time.monotonic() - started < 60
    assert project.query("SELECT count(*) FROM analytics.attributed_conversions WHERE network = 'acme'")[0][0] > 0
