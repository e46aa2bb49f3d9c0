"""Faults on the DuckLake path: a run killed in the middle of its commit, the catalog's PostgreSQL
connection cut mid-run, five runs writing at once, and an analyst reading while hourly rounds
commit. Each lake is a database of its own on the test PostgreSQL server (`postgres_database`)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import timedelta
from decimal import Decimal

import dagster as dg
import psycopg2
import pytest

from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.partitions import trailing_window
from trackly_pipeline.sandbox import FaultRule
from trackly_pipeline.sandbox.expected_outputs import expected_revenue

from .conftest import EARLIEST, make_project, table_checksums, world_copy, write_config
from .test_pipeline_ground_truth import NETWORKS, window_truth

# Minutes each on a loaded machine: every lake connection attaches the catalog and checks the schema.
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(3600)]

# Hourly rounds the analyst reads through (TRACKLY_TEST_ANALYST_ROUNDS: fewer, on a machine too loaded).
ROUNDS = int(os.environ.get("TRACKLY_TEST_ANALYST_ROUNDS", "10"))
DAYS = 2  # the syncs' window: enough conversions of every network, a fraction of a 7-day sync's time
REPORT = "Report::getConversions"


# The sweep paused for over 10 s, long enough for a test polling the lake on a loaded machine: two
# replies slower than the networks' 5 s timeout (conftest.write_config), the third retry answered.
def paused_sweep() -> FaultRule:
    return FaultRule("slow", times=2, method=REPORT, delay=6)  # a rule counts what it has seen: one per test


@pytest.fixture
def lake_world(standard_world, standard_files, tmp_path, monkeypatch, postgres_database):
    """A sandbox project whose warehouse is a lake in its own database; `use_lake(**fields)` points
    it at the lake with other catalog fields (a proxy's port, a password variable)."""
    server, project = make_project(world_copy(standard_world), tmp_path, monkeypatch, standard_files)

    def use_lake(catalog: str = postgres_database.dsn, **fields) -> None:
        warehouse = {"backend": "ducklake", "catalog": catalog, "data_path": str(tmp_path / "lake"), **fields}
        write_config(tmp_path, server.api_url, warehouse=warehouse)
        project.settings = load_config(tmp_path / "trackly.yaml")
        project.defs = build_definitions(project.settings, clock=project.world.clock)

    use_lake()
    project.use_lake = use_lake
    yield project
    server.stop()


def lake_checksums(project) -> dict[str, str]:
    """A content checksum of every lake table but the sync log (which records every attempt)."""
    sums = table_checksums(project)
    assert sums.get("tune.conversions")  # a lake with the schema, read
    return sums


def assert_window_matches_ground_truth(project, keys=NETWORKS, days: int = DAYS) -> None:
    """Every conversion of the `days` before the clock, as the sandbox's ground truth has it, stored
    once, attributed as the truth says; the revenue of those days per network to the cent."""
    truth = window_truth(project, days)
    truth = truth[truth.network_key.isin(keys)]
    end = project.world.clock.now().replace(minute=0, second=0, microsecond=0)
    stored = project.query(
        "SELECT network, conversion_id, status, payout, attribution_method "
        "FROM analytics.attributed_conversions WHERE converted_at >= $start AND converted_at < $end "
        "AND list_contains($keys, network)",
        {"start": end - timedelta(days=days), "end": end, "keys": list(keys)},
    )
    got = {(r[0], r[1]): r[2:] for r in stored}
    assert len(got) == len(stored) == len(truth) > 0
    for row in truth.itertuples():
        assert got[(row.network_key, row.conversion_id)] == (row.status, Decimal(row.payout), row.attribution_method)
    # Every such conversion in tune.conversions once.
    ((rows, distinct),) = project.query(
        "SELECT count(*), count(DISTINCT (network, conversion_id)) FROM tune.conversions "
        "WHERE list_contains($keys, network)",
        {"keys": list(keys)},
    )
    assert rows == distinct


def stored_revenue(project) -> dict:
    rows = project.query("SELECT network, offer_id, sum(revenue) FROM analytics.revenue_by_offer GROUP BY ALL")
    return {(network, offer): Decimal(total).quantize(Decimal("0.01")) for network, offer, total in rows if total}


def truth_revenue(project, days: int = DAYS) -> dict:
    truth = expected_revenue(window_truth(project, days), ["network_key", "offer_id"])
    return {key: value for key, value in truth.items() if value}


def catalog_query(database, sql: str, params: tuple = ()) -> list[tuple]:
    with closing(psycopg2.connect(database.dsn)) as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@contextmanager
def commits_held(database):
    """Every DuckLake commit on the lake blocked half-way: its metadata statements go to PostgreSQL
    as one batch (new snapshot row, table stats, data files, ..., snapshot changes last), and this
    session's lock on ducklake_snapshot_changes (EXCLUSIVE: reads go on) stops the batch at its last
    statement, after the others ran, until the block ends."""
    conn = psycopg2.connect(database.dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute("LOCK TABLE ducklake_snapshot_changes IN EXCLUSIVE MODE")
        yield
    finally:
        conn.rollback()
        conn.close()


def wait_for_blocked_commit(database, timeout: float = 900) -> tuple[str, str]:
    """The table a catalog session waits to lock, held by `commits_held` (a commit, half-way), and
    the start of its batch. (The table from pg_locks: pg_stat_activity cuts a commit's batch text
    before its last statement.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = catalog_query(
            database,
            "SELECT c.relname, a.query FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation "
            "JOIN pg_stat_activity AS a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = %s AND a.pid <> pg_backend_pid()",
            (database.dbname,),
        )
        if rows:
            return rows[0]
        time.sleep(0.05)
    raise AssertionError("no commit reached the lake")


def wait_until(condition, what: str, timeout: float = 900, child: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert child is None or child.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


# A network's sync in a process of its own: the window's bounds and the network as arguments; prints
# the run's success and the commit_retries its steps reported.
CHILD = """
import json, sys
import dagster as dg
from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.jobs import sync_assets, sync_job_name
from trackly_pipeline.defs.partitions import range_tags
key, first, last = sys.argv[1:4]
settings = load_config()
job = build_definitions(settings).get_job_def(sync_job_name(key))
result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=range_tags(first, last),
                                asset_selection=sync_assets(settings.network(key), with_offers=False),
                                raise_on_error=False)
retries, failures = {}, []
for event in result.all_events:
    if event.is_step_failure:
        failures.append(f"{event.step_key}: {event.step_failure_data.error.message.strip()}")
    if event.is_step_materialization:
        value = event.step_materialization_data.materialization.metadata.get("commit_retries")
        if value is not None:
            retries[event.step_key] = max(retries.get(event.step_key, 0), value.value)
print(json.dumps({"success": result.success, "commit_retries": retries, "failures": failures}))
"""


def child_sync(project, key: str, days: int = DAYS, **popen) -> subprocess.Popen:
    first, last = trailing_window(project.world.clock.now(), days, EARLIEST)
    env = {**os.environ, "TRACKLY_CONFIG": str(project.root / "trackly.yaml")}
    return subprocess.Popen([sys.executable, "-c", CHILD, key, first, last], env=env, **popen)


def running_conversion_syncs(project, key: str) -> int:
    return project.query(
        "SELECT count(*) FROM ops.sync_log WHERE network = $key AND kind = 'conversions' AND status = 'running'",
        {"key": key},
    )[0][0]


def test_a_run_killed_mid_commit_leaves_the_last_snapshot_and_the_next_run_repairs(lake_world, postgres_database):
    project = lake_world
    assert project.sync("acme", days=DAYS, with_offers=False).success
    project.world.clock.advance(timedelta(hours=5))
    before = lake_checksums(project)

    # The sweep paused in TUNE's reply while the test takes the lock: the run's next commit after
    # its 'running' row is the window's replacement, which stops half-way, and is killed there.
    project.server.add_fault(paused_sweep())
    child = child_sync(project, "acme", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: running_conversion_syncs(project, "acme") == 1, "the sweep started", child=child)
        with commits_held(postgres_database):
            table, blocked = wait_for_blocked_commit(postgres_database)
            assert table == "ducklake_snapshot_changes"
            # The commit's own snapshot, inserted by the batch's first statement.
            killed_snapshot = int(re.search(r"ducklake_snapshot VALUES \((\d+),", blocked).group(1))
            assert child.poll() is None
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        # The killed client's session ends without its COMMIT: PostgreSQL rolls the batch back.
        wait_until(
            lambda: (
                not catalog_query(
                    postgres_database,
                    "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() AND state <> 'idle'",
                    (postgres_database.dbname,),
                )
            ),
            "the killed run's catalog sessions ended",
            timeout=30,
        )
    finally:
        if child.poll() is None:
            child.kill()

    assert lake_checksums(project) == before  # the last committed snapshot, whole
    # The snapshot the killed commit was writing is not in the catalog: its batch was rolled back.
    assert not catalog_query(
        postgres_database, "SELECT 1 FROM ducklake_snapshot WHERE snapshot_id >= %s", (killed_snapshot,)
    )
    assert running_conversion_syncs(project, "acme") == 1  # the killed sync's own row
    # Parquet files the killed transaction wrote are in no snapshot (orphans, for cleanup).
    listed = {
        os.path.basename(row[0])
        for row in catalog_query(postgres_database, "SELECT path FROM ducklake_data_file WHERE end_snapshot IS NULL")
    }
    on_disk = {path.name for path in (project.root / "lake").rglob("*.parquet")}
    print(f"orphaned data files after the kill: {len(on_disk - listed)}")

    project.server.clear_faults()
    assert project.sync("acme", days=DAYS, with_offers=False).success
    statuses = dict(
        project.query(
            "SELECT status, count(*) FROM ops.sync_log WHERE network = 'acme' AND kind = 'conversions' GROUP BY 1"
        )
    )
    assert statuses == {"success": 2, "interrupted": 1}
    assert_window_matches_ground_truth(project, ("acme",))


# A TCP proxy to the PostgreSQL server, in a process of its own (in the test's process its threads
# would wait for the interpreter while DuckDB, holding it, waits for them): it prints its port; on
# SIGUSR1 it ends every connection through it and refuses new ones, on SIGUSR2 it accepts again.
PROXY = """
import signal, socket, sys, threading
target = (sys.argv[1], int(sys.argv[2]))
server = socket.create_server(("127.0.0.1", 0))
lock, sockets, state = threading.Lock(), [], {"open": True}

def pipe(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

def cut(*_):
    with lock:
        state["open"] = False
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        sockets.clear()
    print("cut", flush=True)

def restore(*_):
    with lock:
        state["open"] = True
    print("restored", flush=True)

def accept():
    while True:
        client, _ = server.accept()
        with lock:
            if not state["open"]:
                client.close()
                continue
            upstream = socket.create_connection(target)
            sockets.extend([client, upstream])
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()

signal.signal(signal.SIGUSR1, cut)
signal.signal(signal.SIGUSR2, restore)
threading.Thread(target=accept, daemon=True).start()
print(server.getsockname()[1], flush=True)
while True:
    signal.pause()
"""


class Proxy:
    """The proxy process (PROXY): `port`, `cut()`, `restore()`, `close()`."""

    def __init__(self, host: str, port: int):
        self.process = subprocess.Popen(
            [sys.executable, "-c", PROXY, host, str(port)], stdout=subprocess.PIPE, text=True
        )
        self.port = int(self.process.stdout.readline())

    def _signal(self, number: int, answer: str) -> None:
        self.process.send_signal(number)
        assert self.process.stdout.readline().strip() == answer

    def cut(self) -> None:
        self._signal(signal.SIGUSR1, "cut")

    def restore(self) -> None:
        self._signal(signal.SIGUSR2, "restored")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def run_text(instance: dg.DagsterInstance, run_id: str) -> str:
    """Everything the Dagster event log holds of a run, as text."""
    return "\n".join(repr(record) for record in instance.all_logs(run_id))


@pytest.mark.parametrize("cut_at", ["sweep", "commit"])
def test_a_cut_catalog_connection_fails_the_run_by_the_lakes_name_and_the_next_run_repairs(
    lake_world, postgres_database, monkeypatch, cut_at
):
    project = lake_world
    password = f"lake-password-{uuid.uuid4().hex}"
    monkeypatch.setenv("TRACKLY_TEST_LAKE_PASSWORD", password)
    proxy = Proxy(postgres_database.host, postgres_database.port)
    try:
        catalog = f"dbname={postgres_database.dbname} host=127.0.0.1 port={proxy.port} user={postgres_database.user}"
        project.use_lake(catalog, catalog_password_env="TRACKLY_TEST_LAKE_PASSWORD")
        lake_name = project.settings.lake.display_name
        assert str(proxy.port) in lake_name
        assert project.sync("acme", days=DAYS, with_offers=False).success
        project.world.clock.advance(timedelta(hours=5))
        before = lake_checksums(project)

        project.server.add_fault(paused_sweep())
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(project.sync, "acme", days=DAYS, with_offers=False)
            if cut_at == "sweep":  # between the run's commits: its next ATTACH is refused
                wait_until(lambda: project.server.injected, "the sweep reached TUNE")
                proxy.cut()
            else:  # in the window's commit, half-way through its batch
                wait_until(lambda: running_conversion_syncs(project, "acme") == 1, "the sweep started")
                with commits_held(postgres_database):
                    wait_for_blocked_commit(postgres_database)
                    proxy.cut()
            result = running.result(timeout=300)
    except BaseException:
        proxy.close()
        raise

    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures
    message = failures[0].step_failure_data.error.to_string()
    assert lake_name in message, message
    everything = run_text(project.instance, result.run_id)

    try:  # the lake read through the proxy, as its name says
        proxy.restore()
        assert lake_checksums(project) == before  # the last committed state
        assert project.sync("acme", days=DAYS, with_offers=False).success
        log = project.query("SELECT status, coalesce(error, '') FROM ops.sync_log WHERE network = 'acme'")
        everything += "\n" + repr(log)
        for secret in [password, *project.world.token_env().values()]:
            assert secret not in everything
        # The failed sync's outcome was kept beside the warehouse and recorded by the next run.
        failed = [error for status, error in log if status == "failed"]
        assert failed and all(lake_name in error for error in failed), log
        assert_window_matches_ground_truth(project, ("acme",))
    finally:
        proxy.close()


def test_five_runs_at_once_all_succeed_and_nothing_is_lost_or_doubled(lake_world):
    project = lake_world
    # The lake created (and its schema) by one run first, as a deployment's first run does.
    assert project.sync("cobalt", days=DAYS, with_offers=False).success
    # Every network once, and acme and bolt twice: five processes writing the same tables.
    keys = ["acme", "bolt", "cobalt", "acme", "bolt"]
    started = time.monotonic()
    children = [child_sync(project, key, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for key in keys]
    outcomes = []
    for child in children:
        out, err = child.communicate(timeout=1800)  # minutes each on a loaded machine
        assert child.returncode == 0, err[-3000:]
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    print(f"five runs at once: {time.monotonic() - started:.1f} s")
    for key, outcome in zip(keys, outcomes, strict=True):
        print(key, "commit_retries", outcome["commit_retries"])
    assert all(outcome["success"] for outcome in outcomes), [o["failures"] for o in outcomes]
    assert all(outcome["commit_retries"] for outcome in outcomes)  # the lake's steps reported them

    for table in ("tune.conversions", "analytics.attributed_conversions"):
        ((rows, distinct),) = project.query(f"SELECT count(*), count(DISTINCT (network, conversion_id)) FROM {table}")
        assert rows == distinct, table
    assert_window_matches_ground_truth(project)
    assert stored_revenue(project) == truth_revenue(project)


TOTALS = "SELECT (SELECT sum(revenue) FROM analytics.revenue_by_offer{at}), (SELECT count(*) FROM tune.conversions{at})"


def test_an_analyst_querying_through_ten_hourly_rounds_sees_only_committed_totals(lake_world):
    project = lake_world
    with ThreadPoolExecutor(len(NETWORKS)) as pool:

        def hourly_round() -> None:
            results = list(
                pool.map(
                    lambda key: project.sync(key, days=1, with_offers=False, instance=dg.DagsterInstance.ephemeral()),
                    NETWORKS,
                )
            )
            assert all(result.success for result in results)

        hourly_round()  # the lake and its tables, before the analyst arrives
        seen: list[tuple] = []
        errors: list[str] = []
        stop = threading.Event()

        def analyst() -> None:
            try:
                with project.settings.warehouse().connect(read_only=True) as conn:
                    while not stop.is_set():
                        seen.append(conn.execute(TOTALS.format(at="")).fetchone())
                        time.sleep(0.1)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        reader = threading.Thread(target=analyst)
        reader.start()
        started = time.monotonic()
        try:
            for _ in range(ROUNDS):
                project.world.clock.advance(timedelta(hours=1))
                hourly_round()
        finally:
            stop.set()
            reader.join(timeout=60)
    print(f"{ROUNDS} rounds: {time.monotonic() - started:.1f} s, analyst queries: {len(seen)}")

    assert errors == []
    # Every committed state's totals, read back by time travel over every snapshot of the lake.
    committed = set()
    with project.settings.warehouse().connect(read_only=True) as conn:
        versions = [
            row[0] for row in conn.execute("SELECT snapshot_id FROM ducklake_snapshots('warehouse')").fetchall()
        ]
        for version in versions:
            try:
                committed.add(conn.execute(TOTALS.format(at=f" AT (VERSION => {int(version)})")).fetchone())
            except Exception:  # a snapshot before the tables existed
                continue
    print(f"snapshots: {len(versions)}, distinct committed totals: {len(committed)}, seen: {len(set(seen))}")
    assert len(seen) >= 20
    assert len(set(seen)) > 1  # the analyst saw the rounds' commits land
    assert set(seen) <= committed, set(seen) - committed
