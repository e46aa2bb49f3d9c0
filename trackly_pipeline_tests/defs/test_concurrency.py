"""Analysts query while runs go by; several networks' runs start in the same minute."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

pytestmark = pytest.mark.slow  # runs in several processes at once, an analyst's reader process

READER = """
import json, sys, time
import duckdb
path, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
import os
errors, latencies, queries = [], [], 0
while not os.path.exists(stop):
    started = time.monotonic()
    try:
        if os.path.exists(path):
            conn = duckdb.connect()
            conn.execute("ATTACH '" + path.replace("'", "''") + "' AS w (READ_ONLY)")  # DuckDB 1.5: no parameter in ATTACH
            conn.execute("SELECT count(*), sum(revenue) FROM w.analytics.revenue_by_offer").fetchall()
            conn.execute("SELECT attribution_method, count(*) FROM w.analytics.attributed_conversions GROUP BY 1").fetchall()
            conn.close()
            queries += 1
    except Exception as exc:
        errors.append(repr(exc))
    latencies.append(time.monotonic() - started)
    time.sleep(0.1)
json.dump({"errors": errors, "queries": queries, "max_latency": max(latencies or [0])}, open(out, "w"))
"""


def test_analysts_read_the_published_copy_while_ten_hourly_runs_go_by(synced, tmp_path):
    project = synced("acme")  # the first publish
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    published = project.settings.duckdb_path.with_name("trackly_analytics.duckdb")
    assert published.exists()
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published), str(stop), str(out)])
    durations = []
    try:
        for _ in range(10):
            project.world.clock.advance(timedelta(hours=1))
            started = time.monotonic()
            assert project.sync("acme", with_offers=False).success
            durations.append(time.monotonic() - started)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    report = json.loads(out.read_text())
    assert report["errors"] == []
    assert report["queries"] >= 20
    assert report["max_latency"] < 2.0
    assert max(durations) < 3 * sorted(durations)[len(durations) // 2] + 1.0  # no run waited on a reader


def _run_network(config: str, key: str, first: str, last: str, home: str, results) -> None:
    import os

    os.environ["TRACKLY_CONFIG"] = config
    from trackly_pipeline.config import load_config
    from trackly_pipeline.defs.build import build_definitions
    from trackly_pipeline.defs.jobs import sync_job_name
    from trackly_pipeline.defs.partitions import range_tags

    defs = build_definitions(load_config())
    with dg.DagsterInstance.from_config(home) as instance:
        result = defs.get_job_def(sync_job_name(key)).execute_in_process(
            instance=instance, tags=range_tags(first, last), raise_on_error=False
        )
        errors = [e.event_specific_data.error.to_string() for e in result.get_step_failure_events()]
    results.put((key, result.success, errors, time.time()))


def instance_home(tmp_path: Path) -> Path:
    """A Dagster home with the project's dagster.yaml (its pools), storage created once, before
    several processes open it."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    root = Path(__file__).resolve().parents[2]
    (home / "dagster.yaml").write_text((root / ".dagster_home" / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(home)):
        pass
    return home


def test_three_networks_starting_in_the_same_minute_all_succeed(project, tmp_path):
    """Three processes, one per network, on an instance with the project's dagster.yaml: the
    `duckdb` pool lets one writing step in at a time; none meets a DuckDB lock error."""
    from trackly_pipeline.defs.partitions import trailing_window

    from .conftest import EARLIEST

    home = instance_home(tmp_path)
    # One day of hours: the point is three writers at once, and SQLite event logs are slow to fill.
    first, last = trailing_window(project.world.clock.now(), 1, EARLIEST)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(
            target=_run_network, args=(str(project.root / "trackly.yaml"), key, first, last, str(home), results)
        )
        for key in ("acme", "bolt", "cobalt")
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    for key, success, errors, _ in outcomes:
        assert success, (key, errors)
        assert not any("lock" in error.lower() for error in errors)
    assert project.query("SELECT count(DISTINCT network) FROM analytics.attributed_conversions")[0][0] == 3


def test_a_slow_network_does_not_hold_up_the_others(project, tmp_path):
    """acme's TUNE answers each page after 3 s; bolt's run, started once acme is paging, finishes
    first: a sweep pages outside the `duckdb` pool and takes the file only to write."""
    from trackly_pipeline.defs.partitions import trailing_window
    from trackly_pipeline.sandbox import FaultRule

    from .conftest import EARLIEST

    project.rebuild(acme={"page_size": 5})
    home = instance_home(tmp_path)
    first, last = trailing_window(project.world.clock.now(), 1, EARLIEST)
    project.server.add_fault(
        FaultRule("slow", times=None, method="Report::getConversions", network_id="acmenet", delay=3.0)
    )
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    config = str(project.root / "trackly.yaml")
    slow = context.Process(target=_run_network, args=(config, "acme", first, last, str(home), results))
    slow.start()
    deadline = time.monotonic() + 120
    while not project.server.injected:  # acme is paging
        assert time.monotonic() < deadline and slow.is_alive()
        time.sleep(0.1)
    started = time.time()
    other = context.Process(target=_run_network, args=(config, "bolt", first, last, str(home), results))
    other.start()
    outcomes = {
        key: (success, errors, finished)
        for key, success, errors, finished in (results.get(timeout=300) for _ in range(2))
    }
    for worker in (slow, other):
        worker.join(timeout=60)
    assert all(success for success, _, _ in outcomes.values()), outcomes
    slow_pages = len(project.server.injected)
    assert slow_pages >= 3  # acme paged for at least 9 s
    assert outcomes["bolt"][2] < outcomes["acme"][2], "bolt waited for acme's sweep"
    print(f"bolt took {outcomes['bolt'][2] - started:.1f}s; acme paged {slow_pages} slow pages")
