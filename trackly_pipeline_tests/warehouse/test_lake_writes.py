"""Writers meeting at commit on a DuckLake lake (Warehouse.write): a transaction refused because
another writer changed the same table runs again, and its last attempt runs alone, so a long
transaction among short ones ends instead of losing every time (seen with five runs at once)."""

from __future__ import annotations

import threading

import duckdb
import pytest

from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.lake import LakeSettings

pytestmark = pytest.mark.postgres

# How long the long transaction waits, on its last attempt, for a short one that must not come.
ALONE_WAIT_S = 2.0


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
