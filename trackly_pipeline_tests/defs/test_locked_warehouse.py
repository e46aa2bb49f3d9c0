"""Another process holds the warehouse's lock longer than a step waits: the run fails naming the
network, the cause and the process; nothing is written; and ops.sync_log ends `failed` with that
cause (not `running`, not `interrupted`) once the lock is released and the next run starts."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from trackly_pipeline.defs.jobs import sync_assets, sync_job_name
from trackly_pipeline.defs.partitions import range_tags, trailing_window
from trackly_pipeline.sandbox import FaultRule

from ..test_cli import HOLD_WRITE_LOCK
from .conftest import EARLIEST, table_checksums
from .test_faults import assert_matches_ground_truth

pytestmark = pytest.mark.slow

LOCKED = "warehouse locked by another process"


def sync_waiting_briefly(project, network_key: str, lock_timeout_s: float):
    """The network's conversion sync (no offers), waiting at most `lock_timeout_s` for the lock."""
    first, last = trailing_window(project.world.clock.now(), 7, EARLIEST)
    return project.defs.get_job_def(sync_job_name(network_key)).execute_in_process(
        instance=project.instance,
        tags=range_tags(first, last),
        raise_on_error=False,
        asset_selection=sync_assets(project.settings.network(network_key), with_offers=False),
        run_config={
            "resources": {
                "warehouse": {
                    "config": {"duckdb_path": str(project.settings.duckdb_path), "lock_timeout_s": lock_timeout_s}
                }
            }
        },
    )


def hold_lock(project) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(project.settings.duckdb_path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def release(holder: subprocess.Popen) -> None:
    holder.kill()
    holder.wait(timeout=30)


def conversion_syncs(project) -> list[tuple]:
    return project.query(
        "SELECT status, error FROM ops.sync_log WHERE network = 'acme' AND kind = 'conversions' ORDER BY started_at"
    )


def test_a_lock_held_during_the_final_write_fails_the_run_and_is_logged_failed(synced):
    project = synced("acme", acme={"page_size": 100})
    project.world.clock.advance(timedelta(hours=30))  # new conversions and status changes
    before = table_checksums(project)

    # The lock is taken while the sweep pages TUNE (page 3 answers slowly), so the sync's `running`
    # row is written and its final write meets the lock.
    project.server.add_fault(FaultRule("slow", times=1, method="Report::getConversions", page=3, delay=3))
    outcome: dict = {}
    run = threading.Thread(target=lambda: outcome.update(result=sync_waiting_briefly(project, "acme", 1.0)))
    run.start()
    try:
        # Polled up to the 120 s a run's start may take on a loaded machine (as test_killed_run waits).
        deadline = time.monotonic() + 120
        while not project.server.injected and time.monotonic() < deadline:
            run.join(timeout=0.05)
        assert project.server.injected, "the sweep never reached page 3"
        holder = hold_lock(project)
        try:
            run.join(timeout=120)
            assert "result" in outcome
        finally:
            release(holder)
    finally:
        run.join(timeout=120)

    result = outcome["result"]
    assert not result.success
    message = result.get_step_failure_events()[0].event_specific_data.error.message
    assert "network 'acme'" in message and LOCKED in message and f"process {holder.pid}" in message
    assert table_checksums(project) == before

    assert project.sync("acme", with_offers=False).success  # the next writer records the failure first
    (first, _), (status, error), last = conversion_syncs(project)
    assert (first, status, last) == ("success", "failed", ("success", None))
    assert LOCKED in error and f"process {holder.pid}" in error
    assert_matches_ground_truth(project, "acme")


def test_a_lock_held_when_the_sync_starts_fails_the_run_and_is_logged_failed(synced):
    project = synced("acme")
    before = table_checksums(project)

    holder = hold_lock(project)
    try:
        result = sync_waiting_briefly(project, "acme", 0.5)
    finally:
        release(holder)

    assert not result.success
    failures = [event.event_specific_data.error.message for event in result.get_step_failure_events()]
    assert any("network 'acme'" in message and LOCKED in message for message in failures)
    assert table_checksums(project) == before

    assert project.sync("acme", with_offers=False).success
    statuses = [status for status, _ in conversion_syncs(project)]
    assert statuses == ["success", "failed", "success"]
    assert LOCKED in conversion_syncs(project)[1][1]
