"""The run queue with a real `dagster-daemon` and the project's dagster.yaml: one network whose TUNE
is slow, several of its runs queued, and another network's run and the freshness job still start
and finish meanwhile; the slow network holds one run slot, its other runs wait in the queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from trackly_pipeline.defs.jobs import FRESHNESS_JOB, sync_job_name
from trackly_pipeline.defs.partitions import range_tags, trailing_window
from trackly_pipeline.sandbox import FaultRule

from .conftest import EARLIEST
from .test_concurrency import instance_home

pytestmark = pytest.mark.slow  # a real dagster-daemon and several `dagster job launch` processes

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ACTIVE = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}
DONE = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
# Steps in the run's own process: a process per step costs seconds each on a busy machine, and the
# queue treats a run the same whichever executor it uses.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


def submit(env: dict, job: str, tags: dict[str, str]) -> tuple[str, subprocess.Popen]:
    """Queue a run of `job` as the UI's Launch does (the instance's run coordinator), by its id."""
    run_id = str(uuid.uuid4())
    command = [
        str(BIN / "dagster"),
        "job",
        "launch",
        "-w",
        str(ROOT / "workspace.yaml"),
        "-j",
        job,
        "--run-id",
        run_id,
        "--tags",
        json.dumps(tags),
        "--config-json",
        json.dumps(IN_PROCESS),
    ]
    return run_id, subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def submit_all(env: dict, launches: list[tuple[str, dict[str, str]]]) -> list[str]:
    """Several launches at once (each loads the code location), their run ids in order."""
    started = [submit(env, job, tags) for job, tags in launches]
    for _, process in started:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()[-3000:]
    return [run_id for run_id, _ in started]


def stop_process_group(leader: subprocess.Popen) -> None:
    """The daemon, its code server and the runs it launched (they share its process group)."""
    os.killpg(leader.pid, signal.SIGTERM)
    try:
        leader.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(leader.pid, signal.SIGKILL)  # what outlived the daemon
    except ProcessLookupError:
        pass
    leader.wait(timeout=30)


@pytest.mark.daemon
def test_a_slow_network_holds_one_run_slot_and_starves_no_other_run(project, tmp_path):
    """acme's TUNE answers each page after 2 s (a 3-day sweep of single-row pages: minutes); four
    acme runs are queued, then bolt's and the freshness job's. The daemon runs one acme run at a
    time, the other three stay QUEUED (no run slot), and bolt's run and `sync_freshness` finish
    while acme's first run is still paging."""
    project.rebuild(acme={"page_size": 1})
    home = instance_home(tmp_path)  # the project's dagster.yaml
    env = {**os.environ, "TRACKLY_CONFIG": str(project.root / "trackly.yaml"), "DAGSTER_HOME": str(home)}
    project.server.add_fault(
        FaultRule("slow", times=None, method="Report::getConversions", network_id="acmenet", delay=2.0)
    )
    now = project.world.clock.now()
    acme_tags, bolt_tags = (range_tags(*trailing_window(now, days, EARLIEST)) for days in (3, 1))
    began = time.monotonic()
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "daemon.err", "w"),  # noqa: SIM115 (the daemon writes it until killed)
        start_new_session=True,
    )
    most_acme_active = 0
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:

            def statuses(run_ids: list[str]) -> list[dg.DagsterRunStatus]:
                return [instance.get_run_by_id(run_id).status for run_id in run_ids]

            def watch(seconds: float, until=None, what: str = "") -> None:
                """Poll for `seconds`, or until `until()` (then running out of time fails, saying
                `what`), counting the acme runs that hold a run slot at once."""
                nonlocal most_acme_active
                deadline = time.monotonic() + seconds
                while not (until and until()):
                    most_acme_active = max(most_acme_active, sum(s in ACTIVE for s in statuses(acme)))
                    assert daemon.poll() is None, (tmp_path / "daemon.err").read_text()[-3000:]
                    if time.monotonic() > deadline:
                        assert until is None, (
                            f"{what} after {seconds:.0f} s; acme {statuses(acme)}, others {statuses(others)}"
                        )
                        return
                    time.sleep(0.5)

            acme, others = submit_all(env, [(sync_job_name("acme"), acme_tags)] * 4), []
            watch(120, lambda: project.server.injected, "acme's first run never paged TUNE")
            # Long enough for the daemon to dequeue more acme runs if the queue let it (it looks
            # every few seconds); they would wait inside for acme's pool, each holding a slot.
            watch(15)
            others = submit_all(env, [(sync_job_name("bolt"), bolt_tags), (FRESHNESS_JOB, {})])
            watch(
                120, lambda: all(s in DONE for s in statuses(others)), "bolt's run and the freshness job never finished"
            )
            finished = time.monotonic()

            assert statuses(others) == [dg.DagsterRunStatus.SUCCESS] * 2
            # One acme run still paging, the other three never left the queue.
            assert Counter(statuses(acme)) == {dg.DagsterRunStatus.STARTED: 1, dg.DagsterRunStatus.QUEUED: 3}
            assert most_acme_active == 1
    finally:
        project.server.clear_faults()
        stop_process_group(daemon)
    assert project.query("SELECT count(*) FROM analytics.attributed_conversions WHERE network = 'bolt'")[0][0] > 0
    print(
        f"bolt and sync_freshness finished {finished - began:.0f} s after the daemon started; "
        f"acme paged {len(project.server.injected)} slow pages"
    )
