"""Explicit transactions on a DuckDB connection, to a file or a lake: a module of its own so that
the schema and the publish, which `database` imports, use the same one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any error: a failed step leaves the tables as they were."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except duckdb.Error:
            # A lake whose catalog went away cannot roll back either ("Failed to execute query
            # ROLLBACK"): the error to raise is the one that ended the transaction. The attempt is
            # still needed: closing a connection whose lake transaction is open aborts the process.
            pass
        raise
    try:
        conn.execute("COMMIT")
    except duckdb.Error:
        # A refused COMMIT (a lake's conflict) can leave the transaction open: end it, so that the
        # connection can run the next one.
        try:
            conn.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
