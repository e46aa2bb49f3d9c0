"""Past one machine, end to end: a real `dagster-webserver` and `dagster-daemon` on the production
instance (deploy/dagster.yaml, Dagster's storage in one PostgreSQL database), the warehouse a DuckLake
lake (its catalog in a second database, its Parquet files in the test's folder). Three networks'
sync runs are launched in the same minute through the webserver's GraphQL API, as the UI's Launch
does; the daemon dequeues them and the default run launcher gives each run a process of its own, all
three writing the lake at once. Every run succeeds, its run and events are read back from PostgreSQL
by psycopg2, and the lake equals the sandbox's ground truth to the cent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import requests

from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.jobs import sync_job_name
from trackly_pipeline.defs.partitions import partition_hour, range_tags, trailing_window
from trackly_pipeline_tests.defs.conftest import EARLIEST, make_project, world_copy, write_config
from trackly_pipeline_tests.defs.test_lake import lake_section, stored_revenue, truth_revenue
from trackly_pipeline_tests.defs.test_pipeline_ground_truth import NETWORKS, window_truth
from trackly_pipeline_tests.defs.test_run_queue import stop_process_group
from trackly_pipeline_tests.test_demo_and_project import free_port

from .test_postgres_instance import deploy_home, point_at, query

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.daemon]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
# Steps in the run's own process (the run is still a process of its own, which is what is tested): a
# process per step costs seconds each on a busy machine.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}

LOCATIONS = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
SCHEDULES = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  name location { name } schedules { id name } } } } }"""
STOP_SCHEDULE = """mutation Stop($id: String) { stopRunningSchedule(id: $id) {
  __typename ... on ScheduleStateResult { scheduleState { status } } ... on PythonError { message } } }"""
# What the UI's Launch sends (Dagster's webapp: LAUNCH_PIPELINE_EXECUTION_MUTATION, `launchPipelineExecution`
# being the older name of the same mutation).
LAUNCH_RUN = """mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}"""


class GraphQL:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/graphql"

    def __call__(self, document: str, variables: dict | None = None) -> dict:
        reply = requests.post(self.url, json={"query": document, "variables": variables or {}}, timeout=30)
        reply.raise_for_status()
        body = reply.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


def start(command: list[str], env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    """A process group of its own (the process, its code server, the runs it launches), for
    stop_process_group; its output in `log`, read when something fails."""
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),  # the process writes it until killed
        start_new_session=True,
    )


def wait_for(seconds: float, what: str, poll, *alive: tuple[subprocess.Popen, Path]):
    """poll()'s first truthy answer within `seconds`; a process in `alive` that ends fails at once."""
    deadline = time.monotonic() + seconds
    while True:
        for process, log in alive:
            assert process.poll() is None, f"{what}: {process.args[0]} exited\n{log.read_text()[-3000:]}"
        try:
            answer = poll()
        except (requests.RequestException, ValueError):
            answer = None  # the webserver not answering yet
        if answer:
            return answer
        assert time.monotonic() < deadline, f"{what}: not after {seconds:.0f} s"
        time.sleep(1)


def loaded_location(graphql: GraphQL) -> str | None:
    entries = graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
    assert len(entries) == 1, entries
    entry = entries[0]
    if entry["loadStatus"] != "LOADED":
        return None
    loaded = entry["locationOrLoadError"]
    assert loaded["__typename"] == "RepositoryLocation", loaded  # a PythonError: the code location did not load
    return entry["name"]


def failures(instance_db, statuses: dict[str, str]) -> dict[str, list[str]]:
    """What each run that did not succeed says: its failed steps' errors, else its failure message."""
    said = {}
    for run_id, status in statuses.items():
        if status == "SUCCESS":
            continue
        rows = query(
            instance_db,
            "SELECT event FROM event_logs WHERE run_id = %s AND dagster_event_type IN (%s, %s) ORDER BY id",
            (run_id, dg.DagsterEventType.STEP_FAILURE.value, dg.DagsterEventType.RUN_FAILURE.value),
        )
        events = [dg.deserialize_value(row[0], dg.EventLogEntry).dagster_event for row in rows]
        said[f"{run_id} {status}"] = [
            f"{event.step_key}: {event.event_specific_data.error.message.strip()[:500]}"
            if event.is_step_failure
            else event.message
            for event in events
        ]
    return said


@pytest.fixture
def lake_deploy(standard_world, standard_files, tmp_path, monkeypatch, postgres_database, second_postgres_database):
    """The sandbox project with a DuckLake warehouse (catalog: the second database), and a
    DAGSTER_HOME holding deploy/dagster.yaml whose storage is the first database."""
    server, project = make_project(world_copy(standard_world), tmp_path / "project", monkeypatch, standard_files)
    write_config(project.root, server.api_url, warehouse=lake_section(second_postgres_database, project.root))
    project.settings = load_config(project.root / "trackly.yaml")
    project.defs = build_definitions(project.settings, clock=project.world.clock)
    home = deploy_home(tmp_path, monkeypatch)
    point_at(postgres_database, monkeypatch)
    yield project, home, postgres_database, second_postgres_database
    server.stop()


# Past the suite's 600 s: a loaded machine took 440-640 s here (the webserver may take 240 s to load,
# the runs 600 s to finish, and the checks after them).
@pytest.mark.timeout(1500)
def test_three_networks_launched_through_the_webserver_run_at_once_into_the_lake(lake_deploy, tmp_path):
    project, home, instance_db, catalog_db = lake_deploy
    assert project.settings.lake is not None
    # The token variables (make_project set them in this process), DAGSTER_PG_* and DAGSTER_HOME
    # (lake_deploy), and the test's trackly.yaml for every process that loads the code location.
    env = {**os.environ, "TRACKLY_CONFIG": str(project.root / "trackly.yaml")}
    assert env["DAGSTER_HOME"] == str(home)
    workspace = str(ROOT / "workspace.yaml")
    began = time.monotonic()
    port = free_port()
    web_log, daemon_log = tmp_path / "webserver.err", tmp_path / "daemon.err"
    webserver = start(
        [str(BIN / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p", str(port)], env, tmp_path, web_log
    )
    daemon = None
    try:
        graphql = GraphQL(port)
        location = wait_for(
            240, "the webserver's code location", lambda: loaded_location(graphql), (webserver, web_log)
        )
        loaded = time.monotonic()
        # The schedules are on by default and would fire on the wall clock's minutes; stopped, as from
        # the UI, so that the three runs below are the only ones.
        (repository,) = graphql(SCHEDULES)["repositoriesOrError"]["nodes"]
        assert len(repository["schedules"]) == len(NETWORKS) + 2  # with sync_freshness_hourly and lake_upkeep_daily
        for schedule in repository["schedules"]:
            stopped = graphql(STOP_SCHEDULE, {"id": schedule["id"]})["stopRunningSchedule"]
            assert stopped["scheduleState"]["status"] == "STOPPED", (schedule["name"], stopped)

        daemon = start([str(BIN / "dagster-daemon"), "run", "-w", workspace], env, tmp_path, daemon_log)

        # The same 7-day window ending at the sandbox's hour for each network, as its schedule asks.
        first, last = trailing_window(project.world.clock.now(), 7, EARLIEST)
        run_ids = {}
        launched = []
        for key in NETWORKS:
            params = {
                "selector": {
                    "repositoryLocationName": location,
                    "repositoryName": repository["name"],
                    "jobName": sync_job_name(key),
                },
                "runConfigData": IN_PROCESS,
                "mode": "default",
                "executionMetadata": {
                    "tags": [{"key": name, "value": value} for name, value in range_tags(first, last).items()]
                },
            }
            result = graphql(LAUNCH_RUN, {"executionParams": params})["launchRun"]
            assert result["__typename"] == "LaunchRunSuccess", result
            run_ids[key] = result["run"]["runId"]
            launched.append(time.time())
        assert launched[-1] - launched[0] < 60  # the same minute

        def statuses() -> dict[str, str]:
            return dict(query(instance_db, "SELECT run_id, status FROM runs"))

        wait_for(
            600,
            "the three runs finishing",
            lambda: set(statuses().values()) <= DONE and len(statuses()) == len(NETWORKS),
            (webserver, web_log),
            (daemon, daemon_log),
        )
        finished = time.monotonic()
        # What ran, the daemon's and the webserver's process ids, before they are stopped.
        server_pids = {webserver.pid, daemon.pid}
    finally:
        stop_process_group(webserver)
        if daemon is not None:
            stop_process_group(daemon)

    # Every run in PostgreSQL, and no other run (no schedule fired, nothing launched twice).
    assert statuses() == dict.fromkeys(run_ids.values(), "SUCCESS"), "\n".join(
        f"{run}: {said}" for run, said in failures(instance_db, statuses()).items()
    )
    tags = dict(
        query(
            instance_db,
            "SELECT run_id, value FROM run_tags WHERE key = 'dagster/asset_partition_range_start'",
        )
    )
    assert tags == dict.fromkeys(run_ids.values(), first)

    # Each run's events, read back from the instance's database and deserialized.
    pids, retries, windows = {}, {}, {}
    for key, run_id in run_ids.items():
        events = [
            dg.deserialize_value(row[0], dg.EventLogEntry)
            for row in query(
                instance_db,
                "SELECT event FROM event_logs WHERE run_id = %s AND dagster_event_type IS NOT NULL ORDER BY id",
                (run_id,),
            )
        ]
        kinds = Counter(entry.dagster_event.event_type_value for entry in events)
        assert kinds[dg.DagsterEventType.RUN_SUCCESS.value] == 1, (key, kinds)
        assert kinds[dg.DagsterEventType.RUN_FAILURE.value] == kinds[dg.DagsterEventType.STEP_FAILURE.value] == 0, (
            key,
            kinds,
        )
        # The run's own process: every step event comes from the pid that started the run, which is
        # neither the webserver's nor the daemon's, and no other run's.
        (started,) = [
            entry for entry in events if entry.dagster_event.event_type_value == dg.DagsterEventType.RUN_START.value
        ]
        steps = {entry.dagster_event.pid for entry in events if entry.dagster_event.is_step_event}
        assert steps == {started.dagster_event.pid}, (key, steps)
        pids[key] = started.dagster_event.pid
        materialized = [
            entry.dagster_event.event_specific_data.materialization
            for entry in events
            if entry.dagster_event.event_type_value == dg.DagsterEventType.ASSET_MATERIALIZATION.value
        ]
        # The network's conversions: one materialization per hour of the window, every hour once.
        hours = sorted(m.partition for m in materialized if m.asset_key == dg.AssetKey(["tune", key, "conversions"]))
        windows[key] = hours
        retries[key] = sum(m.metadata["commit_retries"].value for m in materialized if "commit_retries" in m.metadata)
    assert len(set(pids.values())) == len(NETWORKS)
    assert not set(pids.values()) & server_pids
    hours_in_window = int((partition_hour(last) - partition_hour(first)).total_seconds() // 3600) + 1
    assert hours_in_window == 168
    for key, hours in windows.items():
        assert len(hours) == len(set(hours)) == hours_in_window, key
        assert (hours[0], hours[-1]) == (first, last), key

    # The three runs were in progress together (the runs table's start and end times).
    spans = query(
        instance_db,
        "SELECT start_time, end_time FROM runs WHERE run_id = ANY(%s)",
        (list(run_ids.values()),),
    )
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans

    # The lake: its catalog in its own database, not in the instance's; its contents the ground truth.
    catalog_tables = {
        row[0] for row in query(catalog_db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    instance_tables = {
        row[0] for row in query(instance_db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert "ducklake_snapshot" in catalog_tables and "runs" not in catalog_tables
    assert "runs" in instance_tables and not any(name.startswith("ducklake_") for name in instance_tables)
    assert list((project.root / "lake").rglob("*.parquet"))
    assert not (project.root / "warehouse" / "trackly.duckdb").exists()

    truth = window_truth(project)
    assert set(truth.network_key) == set(NETWORKS)
    stored = project.query(
        "SELECT network, conversion_id, status, payout_reporting, attribution_method FROM analytics.attributed_conversions"
    )
    assert len(stored) == len(truth) > 0
    got = {(row[0], row[1]): row[2:] for row in stored}
    for row in truth.itertuples():
        assert got[(row.network_key, row.conversion_id)] == (row.status, row.payout_reporting, row.attribution_method)
    assert stored_revenue(project) == truth_revenue(project)

    with psycopg2.connect(instance_db.dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM event_logs WHERE run_id = ANY(%s)", (list(run_ids.values()),))
        (event_rows,) = cursor.fetchone()
    conn.close()
    print(
        f"\nwebserver loaded in {loaded - began:.0f} s; the three runs launched within "
        f"{launched[-1] - launched[0]:.1f} s and finished {finished - loaded:.0f} s after the load; "
        f"{event_rows} event rows; commit retries per network {retries}; "
        f"{len(stored)} conversions, revenue {sum(stored_revenue(project).values())}; "
        f"wall time {time.monotonic() - began:.0f} s"
    )
