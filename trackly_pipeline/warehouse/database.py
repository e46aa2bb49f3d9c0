"""The warehouse: connections that always close (their transactions: `transactions`, the schema:
`schema`).

Two backends, one SQL: the DuckDB file (the default), attached as the catalog `warehouse`, or a
DuckLake lake (`lake`) attached under the same name.

DuckDB allows one writing process at a time. Writers of the file are serialised by Dagster (the
`duckdb` concurrency pool, see dagster.yaml); analysts read the published copy (see `publish`). The
lake takes writers from many processes at once, and analysts read it directly.
"""

from __future__ import annotations

import fnmatch
import glob
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from trackly_pipeline.warehouse.duplicates import refuse_duplicates
from trackly_pipeline.warehouse.lake import (
    LakeSettings,
    LakeUnavailable,
    attach_lake,
    catalog_connection_lost,
    ensure_schema,
    lake_connection_config,
    lost_catalog,
)
from trackly_pipeline.warehouse.lake_write_lock import write_turn
from trackly_pipeline.warehouse.publish import LOCKED_FILE_ERROR, PARTITIONED, parts_folder, publish_copy
from trackly_pipeline.warehouse.schema import (
    apply_schema,
    declared_macros,
    sql_template,
    sql_text,
    statements,
    string_literal,
)
from trackly_pipeline.warehouse.transactions import transaction

CATALOG = "warehouse"
log = logging.getLogger(__name__)
Written = TypeVar("Written")
# A lake transaction refused at commit is run again after 0.1, 0.2, 0.4 ... s (with jitter), at most this long.
MAX_COMMIT_BACKOFF_S = 5.0
# How long a writer waits for another process's lock on the file before WarehouseLocked.
DEFAULT_LOCK_TIMEOUT_S = 300.0


class WarehouseLocked(duckdb.IOException):
    """Another process held the warehouse file's lock for longer than the wait allowed. An
    IOException, as DuckDB's own lock error is: readers that fall back on it still do."""

    def __init__(self, path: Path, waited_s: float, duckdb_error: str):
        holder = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", duckdb_error)
        who = f"process {holder.group(2)} ({holder.group(1)})" if holder else "another process"
        super().__init__(
            f"warehouse locked by another process: {path} was held by {who} for over {waited_s:g} s. "
            "It is a run or a session writing the warehouse: wait for it to end (or end it), then run again"
        )


def run_sql_file(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    params: Mapping[str, Any] | None = None,
    identifiers: Mapping[str, str] | None = None,
) -> None:
    """Run each statement of a SQL file with the named parameters it uses, to completion (its results
    are not returned). Values are always bound as parameters, never spliced into the SQL text; a
    template's `identifiers` are (see `schema.sql_template`)."""
    params = params or {}
    for statement in statements(sql_template(name, **(identifiers or {}))):
        used = {key: value for key, value in params.items() if re.search(rf"\${key}\b", statement)}
        # Finished (a row count at most): a result left pending makes the connection's next
        # register() fail, as after the seeds every writing connection runs (a caller's sweep).
        conn.execute(statement, used).fetchall()


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def query_sql_file(conn: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None) -> QueryResult:
    """The rows of a SQL file holding one query, with its column names. Values are bound as
    parameters, never spliced into the SQL text."""
    cursor = conn.execute(sql_text(name), params or {})
    return QueryResult([d[0] for d in cursor.description], cursor.fetchall())


class Warehouse:
    """The DuckDB file at `path`, or with `lake`, the DuckLake lake (`path` then only places the
    files the process keeps beside it: sync outcomes not yet recorded)."""

    def __init__(
        self, path: str | Path, *, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S, lake: LakeSettings | None = None
    ):
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self.lake = lake
        # Lake transactions run again after a commit conflict (`write`), for the run's metadata.
        self.commit_retries = 0

    def exists(self) -> bool:
        """Whether there is a warehouse to read or repair: the file, or (not asked) the lake's catalog."""
        return self.lake is not None or self.path.exists()

    @property
    def name(self) -> str:
        """The warehouse as messages name it."""
        return self.lake.display_name if self.lake else str(self.path)

    @contextmanager
    def connect(self, *, read_only: bool = False, attach: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the file, attached under the fixed name `warehouse`: a file named like
        one of our schemas (trackly.duckdb) would otherwise make `trackly.clicks` ambiguous.
        With attach=False the file is not touched (nor locked) until `attach(conn)`: work can be
        staged in the connection's temporary tables first."""
        conn = duckdb.connect(":memory:", config=lake_connection_config(self.lake) if self.lake else {})
        try:
            # Days and hours in SQL are UTC days and hours, whatever the machine's zone.
            conn.execute("SET TimeZone = 'UTC'")
            if attach:
                self.attach(conn, read_only=read_only)
            yield conn
        except duckdb.Error as exc:
            # A lake's catalog lost mid-session: an error naming the lake, not a catalog table.
            if self.lake and not isinstance(exc, LakeUnavailable) and catalog_connection_lost(exc):
                raise lost_catalog(self.lake, exc) from exc
            raise
        finally:
            conn.close()

    def attach(self, conn: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> None:
        """Attach the file to a connection from `connect(attach=False)`, waiting while another
        process holds its lock, and make it the default catalog (with the schema, for writers)."""
        if self.lake:
            attach_lake(conn, self.lake, CATALOG, read_only=read_only)
        else:
            if not read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._attach(conn, read_only)
        conn.execute(f"USE {CATALOG}")
        if not read_only:
            if self.lake:
                ensure_schema(conn, self.lake, CATALOG)
            else:
                apply_schema(conn, CATALOG, file=str(self.path))
            from trackly_pipeline.warehouse.network_terms import seed_terms  # they run SQL files with this module
            from trackly_pipeline.warehouse.networks import seed_registry

            # A warehouse written before the registry and the terms: its keys' identities and the
            # terms its history was read in, before a run rewrites ops.networks.
            seed_registry(conn, datetime.now(UTC))
            seed_terms(conn)

    def _attach(self, conn: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        """Attach the file, waiting while another process holds its lock: a conversion sweep's final
        write (outside the `duckdb` pool, see defs/assets/conversions.py) and writers outside
        Dagster (a CLI, a notebook) meet the pool's steps here."""
        mode = "READ_ONLY" if read_only else "READ_WRITE"
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                conn.execute(f"ATTACH {string_literal(str(self.path))} AS {CATALOG} ({mode})")
                return
            except duckdb.IOException as exc:
                if LOCKED_FILE_ERROR not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseLocked(self.path, self.lock_timeout_s, str(exc)) from None
                time.sleep(0.1)

    @property
    def published_path(self) -> Path:
        """The analysts' copy: same tables, replaced atomically after each successful write."""
        return self.path.with_name(f"{self.path.stem}_analytics{self.path.suffix}")

    @property
    def published_parts_folder(self) -> Path:
        """The month files the analysts' copy reads (see `publish.publish_copy`)."""
        return parts_folder(self.published_path)

    @property
    def unrecorded_folder(self) -> Path:
        """Sync outcomes that could not be written to ops.sync_log while another process held the
        lock, until the next writer records them (see `unrecorded`)."""
        return self.path.with_name(f"{self.path.name}.unrecorded")

    @property
    def own_files(self) -> list[tuple[tuple[str, ...], str]]:
        """Every file and folder the warehouse writes in its folder (`self.path.parent`), as a path
        relative to it of fnmatch patterns (literal names, glob-escaped, but for the publishing
        process id and the month files' names), with what it is. Trackly's log globs must reach
        none of them (config.py, globs.py), and a load refuses a file that is one (`own_file`).
        test_publish.py checks that a publish writes nothing else."""
        name, copy, parts, unrecorded = (
            glob.escape(path.name)
            for path in (self.path, self.published_path, self.published_parts_folder, self.unrecorded_folder)
        )
        month_files = "the analysts' copy's month files"
        return [
            ((name,), f"the warehouse ({self.path.name})"),
            ((f"{name}.wal",), f"the warehouse's write-ahead log ({self.path.name}.wal)"),
            ((copy,), f"the analysts' copy ({self.published_path.name})"),
            ((f"{copy}.wal",), f"the analysts' copy's write-ahead log ({self.published_path.name}.wal)"),
            # publish.py writes the next copy here (with its .wal) before the atomic rename
            ((f".{copy}.*.tmp*",), f"the analysts' copy being written (.{self.published_path.name}.<pid>.tmp)"),
            ((parts,), f"the folder of {month_files} ({self.published_parts_folder.name}/)"),
            *(
                (
                    (parts, glob.escape(table)),
                    f"a folder of {month_files} ({self.published_parts_folder.name}/{table}/)",
                )
                for table in sorted(PARTITIONED)
            ),
            # publish._write_month: <table>/<YYYY-MM>.<version>.parquet
            *(
                (
                    (parts, glob.escape(table), "[0-9][0-9][0-9][0-9]-[0-9][0-9].*.parquet"),
                    f"{month_files} ({self.published_parts_folder.name}/{table}/<month>.parquet)",
                )
                for table in sorted(PARTITIONED)
            ),
            # unrecorded.keep: <sync_id>.json, written as .<sync_id>.<pid>.tmp first
            ((unrecorded,), f"the folder of sync outcomes not yet in ops.sync_log ({self.unrecorded_folder.name}/)"),
            (
                (unrecorded, "*.json"),
                f"a sync outcome not yet in ops.sync_log ({self.unrecorded_folder.name}/<sync_id>.json)",
            ),
            (
                (unrecorded, "*.json.unreadable"),
                f"a sync outcome that could not be read, set aside ({self.unrecorded_folder.name}/<sync_id>.json.unreadable)",
            ),
            (
                (unrecorded, ".*.tmp"),
                f"a sync outcome being written ({self.unrecorded_folder.name}/.<sync_id>.<pid>.tmp)",
            ),
        ]

    def own_file(self, path: str | Path) -> str | None:
        """What `path` is when the warehouse writes it (`own_files`), by its real path, symlinks
        followed; None for any other file."""
        real, folder = Path(os.path.realpath(path)), Path(os.path.realpath(self.path.parent))
        if not real.is_relative_to(folder):
            return None
        parts = real.relative_to(folder).parts
        for patterns, what in self.own_files:
            if len(patterns) == len(parts) and all(map(fnmatch.fnmatchcase, parts, patterns)):
                return what
        return None

    def publish(self, conn: duckdb.DuckDBPyConnection) -> Path | None:
        """Publish the analysts' copy from a writing connection (a consistent snapshot taken under
        the writer's lock), swapped in atomically: readers never see a half-written file and never
        hold a lock the pipeline needs. See `publish.publish_copy`.

        Refused (DuplicateConversionsError) while any network stores a conversion more than once:
        analysts would see it counted twice. The copy in place and the pending months are kept.

        A lake has no copy (analysts read its committed snapshots): None."""
        if self.lake:
            return None
        refuse_duplicates(
            conn, "the analysts' copy was not published (the copy in place and its pending months are kept)"
        )
        return publish_copy(conn, CATALOG, self.published_path, declared_macros())

    def write(self, conn: duckdb.DuckDBPyConnection, body: Callable[[], Written]) -> Written:
        """`body` in one transaction (`transaction`). On a lake, where another process may have
        committed a change to the same table first, a transaction refused at commit runs again (all
        of `body`: it reads what that process wrote), up to `lake.commit_attempts` times, after
        growing, jittered waits; each retry is logged and counted (`commit_retries`). The last
        attempt runs alone (`write_turn`): it waits for the other writers' transactions under way,
        and theirs for it, so a long transaction among many short ones ends instead of losing each
        time to a shorter one."""
        if self.lake is None:
            with transaction(conn):
                return body()
        attempts = self.lake.commit_attempts
        for attempt in range(1, attempts + 1):
            # With one attempt in all, that one is not "alone": every write would wait for every other.
            alone = attempts > 1 and attempt == attempts
            try:
                with write_turn(self.lake, alone=alone, wait_s=self.lock_timeout_s), transaction(conn):
                    return body()
            except duckdb.TransactionException as exc:
                if attempt == attempts or not is_commit_conflict(exc):
                    raise
                self.commit_retries += 1
                last = attempt + 1 == attempts
                wait = 0 if last else min(MAX_COMMIT_BACKOFF_S, 0.1 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
                log.warning(
                    "%s: another writer changed the same table first (%s); transaction run again%s (attempt %d of %d)",
                    self.name,
                    conflict_line(exc),
                    ", alone, when the writers under way are done" if last else f" in {wait:.2f} s",
                    attempt + 1,
                    attempts,
                )
                time.sleep(wait)
        raise AssertionError("unreachable")


def is_commit_conflict(exc: duckdb.Error) -> bool:
    """DuckLake's refusal of a transaction whose tables another transaction changed since it began."""
    return "conflict" in str(exc).lower()


def conflict_line(exc: duckdb.Error) -> str:
    """The line of a refused commit's message that says what conflicted (DuckLake's first line
    only says the commit failed)."""
    lines = str(exc).splitlines() or [type(exc).__name__]
    return next((line for line in lines if "conflict" in line.lower()), lines[0])
