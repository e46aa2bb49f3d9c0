"""Writers meeting at commit on a DuckLake lake (Warehouse.write): a transaction refused because
another writer changed the same table runs again, and its last attempt runs alone, so a long
transaction among short ones ends instead of losing every time (seen with five runs at once)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager

import duckdb
import psycopg2
import pytest

from trackly_pipeline.warehouse import lake_write_lock
from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.lake import LakeSettings, LakeUnavailable
from trackly_pipeline.warehouse.lake_write_lock import WRITE_LOCK_KEY, LakeBusy, write_turn

pytestmark = pytest.mark.postgres

# How long the long transaction waits, on its last attempt, for a short one that must not come.
ALONE_WAIT_S = 2.0


@pytest.mark.slow  # 4.2 s alone: three attempts, the last waiting ALONE_WAIT_S for a commit that cannot come
def test_a_transaction_that_keeps_losing_at_commit_runs_alone_on_its_last_attempt(postgres_database, tmp_path):
    lake = LakeSettings(catalog=postgres_database.dsn, data_path=str(tmp_path / "data"), commit_attempts=3)
    long_writer, short_writer = Warehouse(tmp_path / "long", lake=lake), Warehouse(tmp_path / "short", lake=lake)
    with long_writer.connect() as conn:
        conn.execute("CREATE SCHEMA warehouse.scratch")
        conn.execute("CREATE TABLE warehouse.scratch.rows (who VARCHAR)")
        conn.execute("INSERT INTO warehouse.scratch.rows VALUES ('first')")  # for the DELETE to delete

    in_transaction, short_committed = threading.Event(), threading.Event()
    short_commits: list[str] = []
    short_errors: list[BaseException] = []

    def short_one() -> None:
        """Commits a row each time the long transaction is under way: three times in all."""
        try:
            with short_writer.connect() as conn:
                for n in range(1, 4):
                    assert in_transaction.wait(timeout=30)
                    in_transaction.clear()
                    short_writer.write(conn, lambda n=n: conn.execute(f"INSERT INTO scratch.rows VALUES ('short {n}')"))
                    short_commits.append(f"short {n}")
                    short_committed.set()
        except BaseException as exc:  # reported by the test below
            short_errors.append(exc)

    attempts_seen: list[bool] = []

    def long_body(conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute("DELETE FROM scratch.rows")
        conn.execute("INSERT INTO scratch.rows VALUES ('long')")
        short_committed.clear()
        in_transaction.set()
        # Until the short writer has committed beside it; on the attempt that runs alone it cannot.
        attempts_seen.append(short_committed.wait(timeout=ALONE_WAIT_S))

    short = threading.Thread(target=short_one)
    short.start()
    with long_writer.connect() as conn:
        long_writer.write(conn, lambda: long_body(conn))
    short.join(timeout=60)
    assert not short_errors, short_errors
    assert not short.is_alive()

    # Two attempts lost to a short commit, the third ran alone: the short writer's third commit waited.
    assert attempts_seen == [True, True, False]
    assert long_writer.commit_retries == 2
    assert short_writer.commit_retries == 0
    with long_writer.connect(read_only=True) as conn:
        rows = sorted(row[0] for row in conn.execute("SELECT who FROM scratch.rows").fetchall())
    # The long transaction's DELETE took the short writer's first two rows; the third came after it.
    assert short_commits == ["short 1", "short 2", "short 3"]
    assert rows == ["long", "short 3"]


@pytest.fixture
def lake(postgres_database, tmp_path) -> LakeSettings:
    settings = LakeSettings(catalog=postgres_database.dsn, data_path=str(tmp_path / "data"), commit_attempts=2)
    with Warehouse(tmp_path / "first", lake=settings).connect() as conn:
        conn.execute("CREATE SCHEMA warehouse.scratch")
        conn.execute("CREATE TABLE warehouse.scratch.rows (who VARCHAR)")
    return settings


@contextmanager
def lock_held_elsewhere(postgres_database, *, shared: bool) -> Iterator[psycopg2.extensions.connection]:
    """The write lock held by another session (another process's transaction, as PostgreSQL sees it)."""
    with closing(psycopg2.connect(postgres_database.dsn)) as other:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_lock{'_shared' if shared else ''}(%s)", (WRITE_LOCK_KEY,))
        yield other


def waiting_for_a_lock(postgres_database) -> list[int]:
    with closing(psycopg2.connect(postgres_database.dsn)) as admin, admin.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (postgres_database.dbname,),
        )
        return [pid for (pid,) in cursor.fetchall()]


def insert(warehouse: Warehouse, who: str) -> None:
    with warehouse.connect() as conn:
        warehouse.write(conn, lambda: conn.execute("INSERT INTO scratch.rows VALUES ($who)", {"who": who}))


@pytest.mark.slow  # 2.6 s alone: waits out its 1.5 s turn
def test_a_write_waits_for_its_turn_a_bounded_time_and_then_says_why(lake, postgres_database, tmp_path):
    warehouse = Warehouse(tmp_path / "w", lake=lake, lock_timeout_s=1.5)
    with lock_held_elsewhere(postgres_database, shared=False):
        started = time.monotonic()
        with pytest.raises(LakeBusy, match=r"the write lock was not given within 1.5 s: another process's"):
            insert(warehouse, "refused")
        assert time.monotonic() - started < 15
        # The abandoned request is not left queued on the server, holding up other writers.
        wait_until(lambda: not waiting_for_a_lock(postgres_database))
    insert(warehouse, "after")
    with warehouse.connect(read_only=True) as conn:
        assert conn.execute("SELECT who FROM scratch.rows").fetchall() == [("after",)]


def test_with_one_commit_attempt_writers_still_share_their_turns(postgres_database, tmp_path):
    single = LakeSettings(catalog=postgres_database.dsn, data_path=str(tmp_path / "data"), commit_attempts=1)
    warehouse = Warehouse(tmp_path / "w", lake=single, lock_timeout_s=1.5)
    with warehouse.connect() as conn:
        conn.execute("CREATE SCHEMA warehouse.scratch")
        conn.execute("CREATE TABLE warehouse.scratch.rows (who VARCHAR)")
    # Another writer's transaction under way: an exclusive turn would wait for it (LakeBusy).
    with lock_held_elsewhere(postgres_database, shared=True):
        insert(warehouse, "beside")


def test_a_write_begun_inside_another_writes_body_runs_in_its_turn(lake, tmp_path):
    outer, inner = Warehouse(tmp_path / "outer", lake=lake), Warehouse(tmp_path / "inner", lake=lake, lock_timeout_s=2)
    # Both alone: as two sessions, the inner one would wait for the outer one's lock.
    with write_turn(lake, alone=True, wait_s=5), write_turn(lake, alone=True, wait_s=2):
        pass
    with outer.connect() as conn:
        outer.write(conn, lambda: (conn.execute("INSERT INTO scratch.rows VALUES ('outer')"), insert(inner, "inner")))
    with outer.connect(read_only=True) as conn:
        assert sorted(conn.execute("SELECT who FROM scratch.rows").fetchall()) == [("inner",), ("outer",)]


def test_a_write_whose_lock_session_is_cut_fails_by_the_lakes_name(lake, postgres_database, tmp_path):
    warehouse = Warehouse(tmp_path / "w", lake=lake)
    errors: list[BaseException] = []

    def waiting_write() -> None:
        try:
            insert(warehouse, "cut")
        except BaseException as exc:  # reported below
            errors.append(exc)

    with lock_held_elsewhere(postgres_database, shared=False) as other:
        writer = threading.Thread(target=waiting_write)
        writer.start()
        wait_until(lambda: waiting_for_a_lock(postgres_database))
        with other.cursor() as cursor:  # as a PostgreSQL restart or a network cut ends it
            cursor.execute("SELECT pg_terminate_backend(%s)", (waiting_for_a_lock(postgres_database)[0],))
        writer.join(timeout=30)
    assert not writer.is_alive()
    (error,) = errors
    assert isinstance(error, LakeUnavailable), repr(error)
    assert "DuckLake ducklake:" in str(error) and "lost while waiting for the write lock" in str(error)


def wait_until(condition, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_catalog_that_does_not_answer_is_named_unavailable_not_busy(tmp_path, monkeypatch):
    monkeypatch.setattr(lake_write_lock, "CONNECT_TIMEOUT_S", 1.5)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        lake = LakeSettings(catalog=f"dbname=nowhere host=127.0.0.1 port={port}", data_path=str(tmp_path))
        started = time.monotonic()
        with (
            pytest.raises(LakeUnavailable, match=r"did not answer within 1\.5 s") as refused,
            write_turn(lake, alone=False, wait_s=30),
        ):
            pass
    assert not isinstance(refused.value, LakeBusy)
    assert time.monotonic() - started < 10


def test_the_server_ends_a_wait_the_client_could_not_end(lake, postgres_database, monkeypatch):
    # As when the network is cut: the client's own deadline (30 s) never comes; the server's does.
    monkeypatch.setattr(lake_write_lock, "_server_limits", lambda wait_s: "-c lock_timeout=500")
    with lock_held_elsewhere(postgres_database, shared=False):
        started = time.monotonic()
        with pytest.raises(LakeBusy), write_turn(lake, alone=False, wait_s=30):
            pass
        assert time.monotonic() - started < 10
