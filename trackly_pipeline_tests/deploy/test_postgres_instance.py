"""deploy/dagster.yaml, the production instance: Dagster's storage on PostgreSQL, configured from
DAGSTER_PG_* alone, with the local instance's run queue, pools and run monitoring; a real sync's run
and events land in PostgreSQL; a server that does not answer fails the instance's load, naming the
problem without the password."""

from __future__ import annotations

import logging
import socket
import traceback
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml
from dagster._core.definitions.run_request import InstigatorType

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_YAML = ROOT / "deploy" / "dagster.yaml"
LOCAL_YAML = ROOT / ".dagster_home" / "dagster.yaml"
PASSWORD = "pw-should-not-leak"


def deploy_home(tmp_path: Path, monkeypatch) -> Path:
    """DAGSTER_HOME: a folder holding a copy of deploy/dagster.yaml, as a deployment mounts it."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DEPLOY_YAML.read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def point_at(database, monkeypatch, *, port: int | None = None, password: str = "") -> None:
    """The five variables deploy/dagster.yaml reads. An empty password: trust authentication."""
    monkeypatch.setenv("DAGSTER_PG_HOST", database.host)
    monkeypatch.setenv("DAGSTER_PG_PORT", str(database.port if port is None else port))
    monkeypatch.setenv("DAGSTER_PG_USER", database.user)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", password)
    monkeypatch.setenv("DAGSTER_PG_DB", database.dbname)


def query(database, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(database.dsn) as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    conn.close()
    return rows


@pytest.mark.postgres
def test_the_deploy_instance_keeps_its_storage_in_postgres_and_queues_one_run_per_network(
    postgres_database, tmp_path, monkeypatch
):
    deploy_home(tmp_path, monkeypatch)
    point_at(postgres_database, monkeypatch)
    assert query(postgres_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        # Dagster created its tables in the test's database, nowhere else.
        tables = {row[0] for row in query(postgres_database, "SELECT tablename FROM pg_tables")}
        assert {"runs", "run_tags", "event_logs", "asset_keys", "jobs", "job_ticks", "instigators"} <= tables
        assert not list((tmp_path / "dagster_home").glob("**/*.db"))  # no SQLite storage beside it

        # The run queue the daemon applies: one run per `trackly/network` value, 3 network runs in all.
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 4
        assert list(queue.tag_concurrency_limits) == [
            {"key": "trackly/network", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
            {"key": "trackly/network", "limit": 3},
        ]
        pools = instance.get_concurrency_config().pool_config
        assert (pools.default_pool_limit, str(pools.pool_granularity.value)) == (1, "op")

        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert instance.run_monitoring_settings["max_runtime_seconds"] == 3600
        schedule_ticks = instance.get_tick_retention_settings(InstigatorType.SCHEDULE)
        assert {status.value: days for status, days in schedule_ticks.items()} == {
            "STARTED": -1,  # a tick still being evaluated: never purged
            "SKIPPED": 7,
            "SUCCESS": 30,
            "FAILURE": 90,
        }

    # The rest is the local instance's, word for word: one place to change a limit is not enough.
    deploy, local = yaml.safe_load(DEPLOY_YAML.read_text()), yaml.safe_load(LOCAL_YAML.read_text())
    for section in ("concurrency", "python_logs", "telemetry"):
        assert deploy[section] == local[section], section
    assert deploy["run_monitoring"] == local["run_monitoring"]


@pytest.mark.postgres
@pytest.mark.slow  # 7.7 s alone: a 7-day sync whose every event goes to PostgreSQL
def test_a_sync_on_the_deploy_instance_records_its_run_and_events_in_postgres(
    project, postgres_database, tmp_path, monkeypatch
):
    deploy_home(tmp_path, monkeypatch)
    point_at(postgres_database, monkeypatch)
    with dg.DagsterInstance.get() as instance:
        result = project.sync("bolt", days=1, instance=instance)
        assert result.success
        materialized = len(result.get_asset_materialization_events())
        assert materialized > 0
        run_id = result.run_id

    # Read back by psycopg2, past Dagster: the rows are in the test's database.
    assert query(postgres_database, "SELECT status FROM runs WHERE run_id = %s", (run_id,)) == [("SUCCESS",)]
    counts = dict(
        query(
            postgres_database,
            "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = %s GROUP BY 1",
            (run_id,),
        )
    )
    assert counts[dg.DagsterEventType.ASSET_MATERIALIZATION.value] == materialized
    assert counts[dg.DagsterEventType.RUN_SUCCESS.value] == 1  # stored as "PIPELINE_SUCCESS"
    # The project's own instance (ephemeral, in memory) recorded nothing of it.
    assert project.instance.get_run_by_id(run_id) is None


def closed_port() -> int:
    """A port on localhost nothing listens on (it was just free)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.postgres
@pytest.mark.slow  # dagster-postgres retries the connection 5 times with backoff: about 15 s
def test_a_postgres_that_does_not_answer_fails_the_load_naming_it_not_the_password(
    postgres_database, tmp_path, monkeypatch, caplog
):
    deploy_home(tmp_path, monkeypatch)
    port = closed_port()
    point_at(postgres_database, monkeypatch, port=port, password=PASSWORD)

    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception) as raised, dg.DagsterInstance.get() as instance:
        instance.get_run_records(limit=1)

    told = "".join(traceback.format_exception(raised.value))
    assert type(raised.value).__name__ == "DagsterPostgresException"
    assert "too many retries for DB connection" in str(raised.value)
    # The cause says which server and why: the address asked and the refused connection.
    assert f'connection to server at "{postgres_database.host}", port {port} failed' in told
    assert "Connection refused" in told
    assert PASSWORD not in told
    assert "Retrying failed database connection" in caplog.text  # the retries are logged ...
    assert PASSWORD not in caplog.text  # ... without it either


def test_an_unset_password_variable_fails_the_load_naming_it(tmp_path, monkeypatch):
    """dagster-postgres gives `password` a default, but `env:` is resolved first, and an unset
    variable is an error: DAGSTER_PG_PASSWORD must be set, to "" for trust authentication
    (deploy/dagster.yaml). No server is needed: the load fails before connecting."""
    deploy_home(tmp_path, monkeypatch)
    for name, value in [("HOST", "127.0.0.1"), ("PORT", "5432"), ("USER", "postgres"), ("DB", "dagster")]:
        monkeypatch.setenv(f"DAGSTER_PG_{name}", value)
    monkeypatch.delenv("DAGSTER_PG_PASSWORD", raising=False)
    with pytest.raises(
        dg.DagsterInvalidConfigError, match='environment variable "DAGSTER_PG_PASSWORD" which is not set'
    ):
        dg.DagsterInstance.get()
