"""The analysts' copy: a read-only DuckDB file that a writer never locks, published after each run.

DuckDB lets one process write a file or many read it, not both, so analysts get their own file,
swapped in with an atomic rename. Rewriting the whole copy each run would cost what the history
weighs (7 s at 12 months in the benchmark, against 0.6 s for the run's own work), so the big
tables are published by month instead: each month is an immutable Parquet file under
`<copy>.parts/`, and the copy holds views over the current files. A run rewrites only the months
its writers marked in `ops.publish_pending`; small tables are copied whole.

Readers keep the snapshot they opened: replaced files stay on disk for `KEEP_REPLACED_FILES_S`
before they are deleted, so a session must reconnect within a day. "Replaced" means no longer read
by the new copy while read by the copy it replaces (its views name the files) or listed in the
bookkeeping: the two differ after a schema upgrade forgot a table's files or a failed `_record`.

Analysts open the copy read-only. One who opens it read-write (the DuckDB CLI's default) locks
every other process out of it, and a session that writes and dies leaves `<copy>.wal` behind;
beside the next copy that log no longer matches, and every open, read-only too, fails. So a
publish refuses to swap while a session holds the copy read-write (the session would write its
log beside the next copy: PublishError naming it), removes a log left by a dead session (its
changes were to a copy being replaced), and checks the new copy opens read-only before and after
the swap.

Every row is in exactly one month file: infinite times (a log may hold them) and years Python's
`date` cannot hold belong to the first or last month it can (`FIRST_MONTH`, `LAST_MONTH`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from trackly_pipeline.warehouse.schema import sql_template, sql_text, string_literal
from trackly_pipeline.warehouse.transactions import transaction

# Managed by Dagster (dagster.yaml, python_logs): warnings show in the run's event log.
log = logging.getLogger(__name__)

# The tables that grow with history, each cut into months of this (UTC) time column. Their writers
# add the months they touch to ops.publish_pending.
PARTITIONED = {
    "tune.conversions": "converted_at",
    "tune.conversion_changes": "seen_at",
    "trackly.messages": "sent_at",
    "analytics.attributed_conversions": "converted_at",
    "analytics.revenue_by_message": "day",
    "analytics.revenue_by_creative": "day",
    "analytics.revenue_by_offer": "day",
    "ops.quarantine": "received_at",  # a row still in the window is quarantined again by every sweep
}
# Not published: the raw click log is the largest table, and analysts can read Trackly's files;
# the publishing bookkeeping describes the copy itself.
UNPUBLISHED = {"trackly.clicks", "ops.publish_pending", "ops.published_parts"}
KEEP_REPLACED_FILES_S = 24 * 3600
FIRST_MONTH, LAST_MONTH = date(1, 1, 1), date(9999, 12, 1)
# The months the SQL files publish a time in, bound as parameters (see publish_table_months.sql).
_MONTH_RANGE = {"first_month": FIRST_MONTH, "last_month": LAST_MONTH}


def publish_copy(conn: duckdb.DuckDBPyConnection, catalog: str, target: Path, macros: Iterable[str]) -> Path:
    """Publish the analysts' copy of `catalog` (the writing connection's warehouse) at `target`.
    Call outside a transaction: the bookkeeping commits once the new copy is in place."""
    parts = parts_folder(target)
    _sql_path(parts)  # refuse an unusable folder before anything is written
    pending = _pending_months(conn)
    files = _current_files(conn)
    live = _live_files(conn, target, parts)  # PublishError while a session holds the copy read-write
    _remove_dead_sessions_log(target)
    written = _write_changed_months(conn, parts, pending, files)
    current = {key: file for key, file in {**files, **written}.items() if file is not None}

    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    conn.execute(f"ATTACH {string_literal(str(staging))} AS published")
    try:
        _fill_copy(conn, catalog, current, parts, macros)
    except BaseException:
        _detach(conn, catalog)
        staging.unlink(missing_ok=True)
        raise
    _detach(conn, catalog)
    try:
        _check_opens(staging)
    except PublishError:
        staging.unlink(missing_ok=True)
        raise
    # A file the copy in place reads or the bookkeeping lists, and the new copy does not, is replaced:
    # its grace period runs from now, its mtime (set just before the swap, so that a crash in between
    # cannot leave it a month old; the two lists differ after an upgrade or a failed _record).
    if live is None:
        # Which files sessions of the old copy read is unknown: every file gets its day.
        log.warning(
            "%s: the copy in place could not be read (damaged, or beside a log that no longer "
            "matches it): every month file on disk is kept for another day",
            target,
        )
        live = {path.relative_to(parts).as_posix() for path in parts.glob("*/*.parquet")}
    for file in (live | set(files.values())) - set(current.values()):
        with contextlib.suppress(FileNotFoundError):
            os.utime(parts / file)
    os.replace(staging, target)
    _check_opens(target)  # a session that still writes the copy left its log beside it

    _record(conn, written, pending)
    _remove_replaced(parts, set(current.values()))
    return target


class PublishError(RuntimeError):
    """The analysts' copy would not open; the message says what to do."""


def wal_of(path: Path) -> Path:
    """DuckDB's write-ahead log of the database file `path`."""
    return path.with_name(f"{path.name}.wal")


# How DuckDB says another process holds a file read-write (the text names that process).
LOCKED_FILE_ERROR = "Could not set lock on file"


def _held_read_write(target: Path, exc: duckdb.Error) -> PublishError | None:
    """The failure to raise when `exc`, from opening the copy, says another process holds it
    read-write: its lock is on the file in place, so after the swap it would write its log beside
    the new copy unhindered, and every open would fail once it did (while it lives, no other
    process can open the copy anyway)."""
    if not (isinstance(exc, duckdb.IOException) and LOCKED_FILE_ERROR in str(exc)):
        return None
    return PublishError(
        f"the analysts' copy {target} is held open read-write by another process, which locks "
        f"every analyst out and would break the next copy: end that session (analysts open the "
        f"copy read-only: duckdb -readonly); the months stay pending for the next run ({exc})"
    )


def _remove_dead_sessions_log(target: Path) -> None:
    """Remove a write-ahead log a dead read-write session left beside the copy (no process holds
    the copy, or `_live_files` would have refused): it would not match the next copy, and no open
    would work."""
    wal = wal_of(target)
    if not wal.exists():
        return
    wal.unlink(missing_ok=True)
    log.warning(
        "%s: removed %s, the write-ahead log of a read-write session on the analysts' copy that "
        "ended without closing it (its changes were to the copy now replaced); analysts open the "
        "copy read-only: duckdb -readonly",
        target,
        wal.name,
    )


def _check_opens(path: Path) -> None:
    """Open `path` read-only, as analysts do, and bind every table and view (a view finds its month
    files and reads the first one's schema); PublishError if that fails."""
    try:
        with duckdb.connect(str(path), read_only=True) as copy:
            names = copy.execute(sql_text("catalog_relations.sql")).fetchall()
            for schema, name in names:
                copy.execute(sql_template("publish_bind_relation.sql", relation=f'"{schema}"."{name}"')).fetchall()
    except duckdb.Error as exc:
        wal = wal_of(path)
        hint = (
            f" {wal.name} is the write-ahead log of a read-write session that opened the copy during "
            f"the publish: end that session (analysts open the copy read-only: duckdb -readonly), and "
            "run again"
            if wal.exists()
            else ""
        )
        raise PublishError(f"the analysts' copy {path} does not open read-only: {exc}.{hint}") from None


def _record(
    conn: duckdb.DuckDBPyConnection, written: dict[tuple[str, date], str | None], pending: set[tuple[str, date]]
) -> None:
    """The copy is in place: note its files and clear the months it published, in one transaction.
    Should this fail, the next publish writes those months again."""
    with transaction(conn):
        for (table, month), file in written.items():
            key = {"table": table, "month": month}
            conn.execute(sql_text("published_parts_forget_month.sql"), key)
            if file is not None:
                conn.execute(sql_text("published_parts_record.sql"), {**key, "file": file})
        for table, month in pending:
            conn.execute(sql_text("publish_pending_clear_month.sql"), {"table": table, "month": month, **_MONTH_RANGE})


def _write_changed_months(
    conn: duckdb.DuckDBPyConnection,
    parts: Path,
    pending: set[tuple[str, date]],
    files: dict[tuple[str, date], str],
) -> dict[tuple[str, date], str | None]:
    """Write a new file for each pending month (None: the month is now empty). A table never
    published, or whose files are gone from disk, is written whole."""
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}"
    written: dict[tuple[str, date], str | None] = {}
    for table in PARTITIONED:
        published = {month: file for (name, month), file in files.items() if name == table}
        months = {month for name, month in pending if name == table}
        if not published or not all((parts / file).exists() for file in published.values()):
            months = set(_all_months(conn, table)) | set(published)
        for month in sorted(months):
            written[(table, month)] = _write_month(conn, table, month, parts, version)
    return written


def _fill_copy(
    conn: duckdb.DuckDBPyConnection,
    catalog: str,
    files: dict[tuple[str, date], str],
    parts: Path,
    macros: Iterable[str],
) -> None:
    """Fill the attached database `published`: views over the month files of the partitioned
    tables, whole copies of the other tables, and the macros."""
    tables = conn.execute(sql_text("catalog_tables.sql"), {"catalog": catalog}).fetchall()
    tables = [name for (name,) in tables if name not in UNPUBLISHED]
    for schema in sorted({table.split(".")[0] for table in tables}):
        conn.execute(sql_template("publish_create_schema.sql", schema=f'"{schema}"'))
    for table in tables:
        schema, name = table.split(".")
        paths = [parts / file for (t, _), file in sorted(files.items()) if t == table]
        relation = f'"{schema}"."{name}"'
        if paths:
            literals = ", ".join(_sql_path(path) for path in paths)
            conn.execute(sql_template("publish_month_files_view.sql", relation=relation, files=literals))
        else:  # a small table, or an empty partitioned one
            conn.execute(sql_template("publish_copy_table.sql", relation=relation, catalog=catalog))
    conn.execute("USE published")  # macros are defined inside the copy
    for macro in macros:
        conn.execute(macro)


def _detach(conn: duckdb.DuckDBPyConnection, catalog: str) -> None:
    conn.execute(f"USE {catalog}")
    conn.execute("DETACH published")


def parts_folder(target: Path) -> Path:
    return target.with_name(f"{target.stem}.parts")


def _pending_months(conn: duckdb.DuckDBPyConnection) -> set[tuple[str, date]]:
    """The months writers marked (publish_pending_months.sql)."""
    return set(conn.execute(sql_text("publish_pending_months.sql"), _MONTH_RANGE).fetchall())


def _current_files(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, date], str]:
    return {
        (table, month): file for table, month, file in conn.execute(sql_text("published_parts_files.sql")).fetchall()
    }


def _live_files(conn: duckdb.DuckDBPyConnection, target: Path, parts: Path) -> set[str] | None:
    """The month files the copy now at `target` reads (relative to `parts`), named by its views;
    None when it cannot be read (damaged, or beside a log that no longer matches it). PublishError
    while another process holds it read-write."""
    if not target.exists():
        return set()
    try:
        conn.execute(f"ATTACH {string_literal(str(target))} AS live_copy (READ_ONLY)")
    except duckdb.Error as exc:
        held = _held_read_write(target, exc)
        if held is not None:
            raise held from None
        return None
    try:
        views = conn.execute(sql_text("catalog_live_copy_views.sql")).fetchall()
    finally:
        conn.execute("DETACH live_copy")
    root = parts.resolve()
    # Each path is a quoted literal without quotes (`_sql_path`).
    paths = [Path(text) for (sql,) in views for text in re.findall(r"'([^']*)'", sql)]
    return {path.relative_to(root).as_posix() for path in paths if path.is_relative_to(root)}


def _all_months(conn: duckdb.DuckDBPyConnection, table: str) -> list[date]:
    query = sql_template("publish_table_months.sql", table=table, time_column=PARTITIONED[table])
    return [month for (month,) in conn.execute(query, _MONTH_RANGE).fetchall()]


def _month_rows_file(month: date) -> str:
    """The query for the rows of `month`, as publish_table_months.sql places them: a range, so the
    scan skips other months' row groups, left open at the first and last month."""
    if month == FIRST_MONTH:
        return "publish_first_month_rows.sql"
    if month == LAST_MONTH:
        return "publish_last_month_rows.sql"
    return "publish_month_rows.sql"


def _write_month(conn: duckdb.DuckDBPyConnection, table: str, month: date, parts: Path, version: str) -> str | None:
    """One month of `table` as a new Parquet file; None when the month has no rows (any more)."""
    query = sql_template(_month_rows_file(month), table=table, time_column=PARTITIONED[table])
    reader = conn.sql(query, params={"month": month}).to_arrow_reader()
    file = f"{table}/{month.isoformat()[:7]}.{version}.parquet"  # year 1 as 0001
    path = parts / file
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with pq.ParquetWriter(path, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    if rows == 0:
        path.unlink()
        return None
    return file


def _sql_path(path: Path) -> str:
    """A file path as a SQL string literal. A view's definition cannot take bound parameters; the
    path is our own file name under the configured folder, refused if it holds a quote."""
    text = str(path.resolve())
    if "'" in text or "\x00" in text:
        raise ValueError(f"the analysts' copy cannot be published under a path with a quote: {text!r}")
    return f"'{text}'"


def _remove_replaced(parts: Path, current: set[str]) -> None:
    """Delete files the copy no longer reads once they were replaced a day ago (or, for files a
    failed publish left behind, written a day ago): readers of older snapshots have had a day."""
    cutoff = time.time() - KEEP_REPLACED_FILES_S
    for path in parts.glob("*/*.parquet"):
        if path.relative_to(parts).as_posix() not in current and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


__all__ = ["LOCKED_FILE_ERROR", "PARTITIONED", "UNPUBLISHED", "PublishError", "parts_folder", "publish_copy", "wal_of"]
