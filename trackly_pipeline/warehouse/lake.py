"""The DuckLake warehouse: the same schemas, tables and SQL as the DuckDB file, in a lake whose
catalog is a PostgreSQL database and whose data are Parquet files under `data_path` (a folder or
`s3://...`). Runs in other processes and containers write it at once; analysts ATTACH it READ_ONLY
and see committed snapshots only (README, Running past one machine).

What differs from the file:
- no file lock: writers meet at commit, where DuckLake refuses the second of two transactions that
  changed the same table; `Warehouse.write` runs such a transaction again, with bounded backoff,
  and its last attempt alone (lake_write_lock.py), so that a long transaction among many short
  ones cannot lose every time;
- no analysts' copy: the lake is what analysts read (`publish` does nothing);
- the schema is created or upgraded by one process at a time, under a PostgreSQL advisory lock
  on the catalog database, and only when it differs from this version's.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from trackly_pipeline.warehouse import extensions
from trackly_pipeline.warehouse.schema import apply_schema, schema_is_current, string_literal

log = logging.getLogger(__name__)

# pg_advisory_lock's key for schema changes: the first 8 bytes of this name's hash, so that no other
# application's lock on the same catalog database is likely to share it.
SCHEMA_LOCK_KEY = int.from_bytes(hashlib.sha256(b"trackly_pipeline.warehouse.schema").digest()[:8], "big", signed=True)
DEFAULT_COMMIT_ATTEMPTS = 8
# The daily upkeep (lake_upkeep.py) expires snapshots older than this: time travel reaches this far back.
DEFAULT_SNAPSHOT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class LakeSettings:
    """`warehouse:` with `backend: ducklake` (trackly.yaml). `catalog` is a libpq connection string
    without a password; the password, if any, is read from the variable `password_env` when a
    connection opens, never stored here."""

    catalog: str
    data_path: str
    password_env: str | None = None
    commit_attempts: int = DEFAULT_COMMIT_ATTEMPTS
    snapshot_retention_days: int = DEFAULT_SNAPSHOT_RETENTION_DAYS

    @property
    def display_name(self) -> str:
        """The lake as messages and metadata name it: its catalog's database and host, no secret."""
        fields = libpq_fields(self.catalog)
        where = fields.get("host", "localhost") + (f":{fields['port']}" if "port" in fields else "")
        return f"ducklake:{fields.get('dbname', '?')}@{where}"

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None

    def local_data_folder(self) -> Path | None:
        return None if "://" in self.data_path else Path(self.data_path)

    @property
    def own_files(self) -> list[tuple[tuple[str, ...], str]]:
        """The files DuckLake writes under a local data_path, relative to it, as fnmatch patterns:
        Trackly's log globs must reach none of them (config.py)."""
        return [(("*", "*", "ducklake-*.parquet"), "the lake's data files (<schema>/<table>/ducklake-<id>.parquet)")]


def libpq_fields(conninfo: str) -> dict[str, str]:
    """The fields of a libpq connection string (`dbname=... host=...`), as libpq reads them."""
    from psycopg2.extensions import parse_dsn  # the `lake` extra (dagster-postgres depends on it)

    return parse_dsn(conninfo)


def lake_extensions(lake: LakeSettings) -> tuple[str, ...]:
    """The DuckDB extensions a connection to the lake loads."""
    return ("ducklake", "postgres_scanner") + (("httpfs", "aws") if "://" in lake.data_path else ())


def lake_connection_config(lake: LakeSettings) -> dict[str, str]:
    """The config of a new DuckDB connection that will attach the lake (`attach_lake`)."""
    return extensions.connection_config(lake_extensions(lake))


def attach_lake(conn: duckdb.DuckDBPyConnection, lake: LakeSettings, catalog: str, *, read_only: bool) -> None:
    """ATTACH the lake under `catalog`. The password goes into a temporary secret of this connection
    (DuckDB's postgres extension adds it to the catalog's connection): in the ATTACH string it would
    be quoted back by every connection error."""
    for name in lake_extensions(lake):
        extensions.load(conn, name)
    if "://" in lake.data_path:
        try:
            conn.execute(object_store_secret())
        except duckdb.Error as exc:  # the credential chain found nothing
            raise LakeUnavailable(
                f"DuckLake {lake.display_name}: no credentials for its data path {lake.data_path} "
                f"({first_line(exc, lake)}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile "
                "(AWS_PROFILE) or an instance role (README, Running past one machine)"
            ) from None
    password = lake.password()
    if password:
        conn.execute(
            f"CREATE OR REPLACE TEMPORARY SECRET lake_catalog (TYPE postgres, PASSWORD {string_literal(password)})"
        )
    options = [f"DATA_PATH {string_literal(lake.data_path)}"] + (["READ_ONLY"] if read_only else [])
    statement = f"ATTACH {string_literal('ducklake:postgres:' + lake.catalog)} AS {catalog} ({', '.join(options)})"
    try:
        if lake.catalog in _CREATED or read_only:
            conn.execute(statement)
        else:
            # The first ATTACH creates DuckLake's own tables in the catalog database, and two
            # processes doing so at once collide in PostgreSQL: one at a time until the lake exists.
            with schema_lock(lake):
                conn.execute(statement)
            _CREATED.add(lake.catalog)
    except duckdb.Error as exc:
        message = str(exc).replace(password, "[redacted]") if password else str(exc)
        raise LakeUnavailable(f"DuckLake {lake.display_name} could not be attached: {message}") from None


def object_store_secret(environ: Mapping[str, str] = os.environ) -> str:
    """The secret through which DuckDB reaches an `s3://` data path: credentials found as the AWS
    tools find them (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, an instance or pod
    role: the `aws` extension's credential chain), and the endpoint of an S3-compatible store
    (MinIO, R2, ...) from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, as the AWS SDKs read it. No
    credential is written into the statement."""
    options = ["TYPE s3", "PROVIDER credential_chain"]
    endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        url = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        options += [
            f"ENDPOINT {string_literal(url.netloc)}",
            "URL_STYLE 'path'",  # what S3-compatible stores serve; AWS's own endpoint needs none
            f"USE_SSL {'false' if url.scheme == 'http' else 'true'}",
        ]
    return f"CREATE OR REPLACE TEMPORARY SECRET lake_data ({', '.join(options)})"


# Catalogs this process has attached for writing, so known to exist: no lock to attach them again.
_CREATED: set[str] = set()


def lake_attach_line(lake: LakeSettings, alias: str = "lake") -> str:
    """The statement an analyst runs to read the lake (its snapshots as committed, never a write),
    in the duckdb CLI or Python, where the extensions can be installed (INSTALL ducklake)."""
    return (
        f"ATTACH {string_literal('ducklake:postgres:' + lake.catalog)} AS {alias} "
        f"(DATA_PATH {string_literal(lake.data_path)}, READ_ONLY)"
    )


class LakeUnavailable(duckdb.IOException):
    """The lake's catalog database did not answer, or refused us. Names the lake, never a password."""


# What DuckDB's postgres extension and libpq say when the catalog's connection is lost mid-session:
# the server went away (a restart, a network cut, pg_terminate_backend) or cannot be reached again.
_CONNECTION_LOST = (
    "server closed the connection",
    "unable to connect to postgres",
    "terminating connection",
    "no connection to the server",
    "connection to server",
    "could not receive data from server",
    "could not send data to server",
    "ssl syscall error",
    'failed to execute query "rollback"',
)


def catalog_connection_lost(exc: BaseException) -> bool:
    """Whether a DuckDB error on a lake connection is its catalog's connection failing."""
    text = str(exc).lower()
    return any(marker in text for marker in _CONNECTION_LOST)


def lost_catalog(lake: LakeSettings, exc: BaseException) -> LakeUnavailable:
    """The error a lake connection raises in place of DuckDB's when its catalog went away mid-session:
    DuckDB's own names a catalog table or a query, not which lake, and says nothing of the state."""
    message = first_line(exc, lake)
    return LakeUnavailable(
        f"DuckLake {lake.display_name}: the connection to its catalog database was lost ({message}); "
        "the lake holds committed snapshots only: a transaction that did not commit left nothing"
    )


@contextmanager
def schema_lock(lake: LakeSettings):
    """One process at a time changes the lake's schema: a session advisory lock on the catalog
    database, held while the schema is created or upgraded, released when the session ends (a
    killed process's lock goes with its connection)."""
    import psycopg2  # the `lake` extra (dagster-postgres depends on it)

    try:
        session = psycopg2.connect(lake.catalog, password=lake.password() or None, connect_timeout=10)
    except psycopg2.Error as exc:
        raise LakeUnavailable(
            f"DuckLake {lake.display_name}: its catalog database refused the schema lock: {first_line(exc, lake)}"
        ) from None
    try:
        session.autocommit = True
        with session.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        yield
    finally:
        session.close()


def first_line(exc: BaseException, lake: LakeSettings | None = None) -> str:
    """An error's first line for a message, with `lake`'s password (if any) redacted."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    password = lake.password() if lake else None
    return line.replace(password, "[redacted]") if password else line


def ensure_schema(conn: duckdb.DuckDBPyConnection, lake: LakeSettings, catalog: str) -> list[str]:
    """Create or upgrade the lake's schema when it is not this version's, one process at a time:
    every writer checks (a catalog read), and only one that finds a difference takes the lock,
    checks again under it, and applies. An unchanged schema commits nothing: a snapshot per
    connection would conflict with every other writer's."""
    if schema_is_current(conn, catalog):
        return []
    with schema_lock(lake):
        # The snapshot this connection reads was taken before the lock: another process may have
        # applied the schema meanwhile, and a new transaction sees it.
        if schema_is_current(conn, catalog):
            return []
        return apply_schema(conn, catalog, file=lake.display_name)
