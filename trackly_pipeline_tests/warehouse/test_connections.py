"""What a closed connection leaves behind (database.py): the file complete and unlocked, nothing for
the next connection; and a writing connection that finds the schema complete skips creating it
(schema.apply_schema), but still creates a table dropped underneath."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from trackly_pipeline.warehouse.database import Warehouse

# Another process writes the file: only possible once no connection of this one holds it.
WRITE_ELSEWHERE = """
import sys, duckdb
with duckdb.connect(sys.argv[1]) as conn:
    print(conn.execute("SELECT count(*) FROM ops.network_terms").fetchone()[0])
"""


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    return Warehouse(tmp_path / "w.duckdb")


def test_a_closed_connection_releases_the_file_with_every_write_in_it(warehouse):
    with warehouse.connect() as conn:
        conn.execute("INSERT INTO ops.network_terms (network) VALUES ('acme')")
    assert not warehouse.path.with_name(f"{warehouse.path.name}.wal").exists()
    other = subprocess.run(
        [sys.executable, "-c", WRITE_ELSEWHERE, str(warehouse.path)], capture_output=True, text=True, timeout=60
    )
    assert (other.returncode, other.stdout.strip()) == (0, "1"), other.stderr


def test_the_next_connection_starts_clean(warehouse):
    with warehouse.connect() as conn:
        conn.execute("CREATE TEMP TABLE staged AS SELECT 1 AS x")
        conn.execute("ATTACH ':memory:' AS scratch")
        conn.execute("BEGIN TRANSACTION")
        conn.execute("INSERT INTO ops.network_terms (network) VALUES ('acme')")
        # closed without COMMIT
    with warehouse.connect(read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM ops.network_terms").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)
        attached = conn.execute("SELECT database_name FROM duckdb_databases() WHERE NOT internal").fetchall()
        assert sorted(attached) == [("memory",), ("warehouse",)]
    with duckdb.connect(str(warehouse.path)) as raw:  # this process, no lock left either
        assert raw.execute("SELECT count(*) FROM ops.network_terms").fetchone() == (0,)


def test_a_table_dropped_since_the_last_connection_is_created_again(warehouse):
    with warehouse.connect():
        pass
    with duckdb.connect(str(warehouse.path)) as raw:
        raw.execute("DROP TABLE ops.network_terms")
    with warehouse.connect() as conn:
        assert conn.execute("SELECT count(*) FROM ops.network_terms").fetchone() == (0,)
