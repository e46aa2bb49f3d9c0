"""A process killed with SIGKILL in the middle of a sweep loses nothing and changes nothing; the
next run reports it as interrupted and repairs everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from trackly_pipeline.defs.partitions import trailing_window
from trackly_pipeline.sandbox import FaultRule

from .conftest import EARLIEST, table_checksums
from .test_faults import assert_matches_ground_truth

pytestmark = pytest.mark.slow  # a sync in a subprocess, killed mid-sweep

CHILD = """
import sys
from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.jobs import sync_assets, sync_job_name
from trackly_pipeline.defs.partitions import range_tags
import dagster as dg
settings = load_config()
defs = build_definitions(settings)
job = defs.get_job_def(sync_job_name("acme"))
job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=range_tags(sys.argv[1], sys.argv[2]),
                       asset_selection=sync_assets(settings.network("acme"), with_offers=False))
"""


def test_sigkill_mid_sweep(synced):
    project = synced("acme", acme={"page_size": 100})
    project.world.clock.advance(timedelta(hours=30))
    before = table_checksums(project)

    project.server.add_fault(FaultRule("slow", times=1, method="Report::getConversions", page=3, delay=30))
    first, last = trailing_window(project.world.clock.now(), 7, EARLIEST)
    env = {**os.environ, "TRACKLY_CONFIG": str(project.root / "trackly.yaml")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, first, last], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not project.server.injected and time.monotonic() < deadline:
            assert child.poll() is None, "the run ended before the fault"
            time.sleep(0.05)
        assert project.server.injected, "the child never reached page 3"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()

    assert table_checksums(project) == before  # nothing half-written
    running = project.query("SELECT count(*) FROM ops.sync_log WHERE network = 'acme' AND status = 'running'")[0][0]
    assert running == 1  # the killed sync's own row

    project.server.clear_faults()
    assert project.sync("acme", with_offers=False).success
    statuses = dict(
        project.query(
            "SELECT status, count(*) FROM ops.sync_log WHERE network = 'acme' AND kind = 'conversions' GROUP BY 1"
        )
    )
    assert statuses.get("interrupted") == 1 and "running" not in statuses
    assert_matches_ground_truth(project, "acme")
