"""A PostgreSQL database of its own for each test that needs one (marker `postgres`).

The server is TRACKLY_TEST_POSTGRES (host:port, default 127.0.0.1:5432), user
TRACKLY_TEST_POSTGRES_USER (default postgres), with trust or ~/.pgpass authentication. Where none
answers the tests are skipped with the reason, so `./run test` passes on a laptop without it; CI
(TRACKLY_REQUIRE_POSTGRES=1, .ci/run) always has one, and there the skip is a failure."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass

import psycopg2
import pytest


@dataclass(frozen=True)
class PostgresDatabase:
    host: str
    port: int
    user: str
    dbname: str

    @property
    def dsn(self) -> str:
        """libpq's key=value form, as DuckLake's catalog and psycopg2 take it."""
        return f"dbname={self.dbname} host={self.host} port={self.port} user={self.user}"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}@{self.host}:{self.port}/{self.dbname}"


def server() -> tuple[str, int, str]:
    address = os.environ.get("TRACKLY_TEST_POSTGRES", "127.0.0.1:5432")
    host, _, port = address.rpartition(":")
    return host or address, int(port or 5432), os.environ.get("TRACKLY_TEST_POSTGRES_USER", "postgres")


def _admin(host: str, port: int, user: str):
    conn = psycopg2.connect(dbname="postgres", host=host, port=port, user=user, connect_timeout=3)
    conn.autocommit = True
    return conn


def unavailable_reason() -> str | None:
    host, port, user = server()
    try:
        _admin(host, port, user).close()
    except psycopg2.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL answers at {host}:{port} as {user} (TRACKLY_TEST_POSTGRES): {first_line}"
    return None


def skip_or_fail(reason: str) -> None:
    if os.environ.get("TRACKLY_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason}; TRACKLY_REQUIRE_POSTGRES=1 (CI) requires it")
    pytest.skip(reason)


@contextmanager
def new_database() -> Iterator[PostgresDatabase]:
    """A new, empty database, dropped on leaving (connections still open are ended first); skipped
    (or failed, in CI) where no server answers."""
    reason = unavailable_reason()
    if reason:
        skip_or_fail(reason)
    host, port, user = server()
    database = PostgresDatabase(host, port, user, f"trackly_test_{uuid.uuid4().hex[:12]}")
    # closing(), not `with connection`: since psycopg2 2.9 that opens a transaction even in autocommit,
    # and CREATE DATABASE cannot run inside one.
    with closing(_admin(host, port, user)) as admin, admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database.dbname}"')
    try:
        yield database
    finally:
        admin = _admin(host, port, user)
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{database.dbname}" WITH (FORCE)')
        finally:
            admin.close()


@pytest.fixture
def postgres_database() -> Iterator[PostgresDatabase]:
    """A new, empty database, dropped after the test (connections still open are ended first)."""
    with new_database() as database:
        yield database


@pytest.fixture
def second_postgres_database() -> Iterator[PostgresDatabase]:
    """Another one, for a test that keeps two things apart (Dagster's instance and a lake's catalog)."""
    with new_database() as database:
        yield database
