"""The lake's daily upkeep (warehouse.backend: ducklake; job `lake_upkeep`). Every hourly sync
commits snapshots and writes small Parquet files, and nothing is ever deleted: the data path and the
catalog grow without end, and reads slow down as they open more files. The upkeep, in order:

1. writes the rows DuckLake inlined in its catalog out to Parquet (`ducklake_flush_inlined_data`);
2. merges each table's adjacent small files (`ducklake_merge_adjacent_files`) and rewrites its files
   whose rows are mostly deleted (`ducklake_rewrite_data_files`);
3. expires the snapshots older than `expire_older_than` (`ducklake_expire_snapshots`): time travel
   reaches that far back, no further;
4. deletes the files scheduled for deletion by 2 and 3 (`ducklake_cleanup_old_files`), and files
   the catalog does not know (`ducklake_delete_orphaned_files`: a writer killed before its commit),
   in both cases only those older than `file_grace`.

Each step is its own transaction, run through `write` (Warehouse.write: a step refused at commit
because a network's run changed the same table meanwhile runs again). The merged table's content is
unchanged: only where its rows live changes.

`file_grace`: a query that began before a merge reads the files it replaced, and a writer's files
are on disk before its commit makes them known; deleting them under it fails that query or loses
that commit. The default is longer than any run (the longest, a 45-day wide sweep, is limited to
6.4 h) and shorter than a day, so the daily upkeep deletes what the previous day's scheduled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import duckdb

from trackly_pipeline.warehouse.database import query_sql_file, transaction

FILE_GRACE = timedelta(hours=12)
Written = TypeVar("Written")
Write = Callable[[Callable[[], Any]], Any]


@dataclass(frozen=True)
class LakeCounts:
    """What the lake holds at one moment: its data path's files, and its catalog's rows."""

    files_on_disk: int  # every file under the data path (data, delete files, orphans)
    bytes_on_disk: int
    snapshots: int
    data_file_rows: int  # ducklake_data_file: live files and those only old snapshots use
    live_data_files: int  # of which the newest snapshot reads
    delete_file_rows: int
    scheduled_for_deletion: int
    inlined_data_tables: int


@dataclass(frozen=True)
class UpkeepStats:
    before: LakeCounts
    after: LakeCounts
    rows_flushed: int
    files_merged: int  # small files merged into others
    files_rewritten: int  # files with mostly deleted rows rewritten
    files_created: int  # by merges and rewrites
    snapshots_expired: int
    files_deleted: int  # files scheduled for deletion, deleted
    orphans_deleted: int | None  # None: the extension has no ducklake_delete_orphaned_files
    seconds: float

    def metadata(self) -> dict[str, int | float]:
        """Flat figures, for a Dagster step's metadata: `before_*` and `after_*` for the counts."""
        figures = {k: v for k, v in asdict(self).items() if k not in ("before", "after") and v is not None}
        for when in ("before", "after"):
            figures |= {f"{when}_{k}": v for k, v in asdict(getattr(self, when)).items()}
        return figures


def lake_counts(conn: duckdb.DuckDBPyConnection) -> LakeCounts:
    """The counts of the lake attached as `warehouse`."""
    catalog = query_sql_file(conn, "lake_upkeep_catalog_counts.sql")
    ((data_path,),) = query_sql_file(conn, "lake_upkeep_data_path.sql").rows
    try:
        ((files, size),) = query_sql_file(conn, "lake_upkeep_files_on_disk.sql", {"pattern": f"{data_path}**"}).rows
    except duckdb.IOException as exc:
        if "No files found" not in str(exc):
            raise
        files, size = 0, 0  # an empty lake: nothing written yet
    return LakeCounts(int(files), int(size), *(int(value) for value in catalog.rows[0]))


def upkeep(
    conn: duckdb.DuckDBPyConnection,
    *,
    expire_older_than: timedelta,
    file_grace: timedelta = FILE_GRACE,
    write: Write | None = None,
) -> UpkeepStats:
    """Flush, merge, expire and clean the lake attached as `warehouse` (see the module). `write`
    runs each step's transaction (default: once, in `transaction`)."""
    if write is None:

        def write(body: Callable[[], Written]) -> Written:
            with transaction(conn):
                return body()

    started = time.monotonic()
    before = lake_counts(conn)

    def one(name: str, params: dict | None = None) -> tuple:
        return write(lambda: query_sql_file(conn, name, params).rows[0])

    (rows_flushed,) = one("lake_upkeep_flush_inlined.sql")
    merged = rewritten = created = 0
    for schema_name, table_name in query_sql_file(conn, "lake_upkeep_tables.sql").rows:
        table = {"schema_name": schema_name, "table_name": table_name}
        files, made = one("lake_upkeep_merge.sql", table)
        merged, created = merged + files, created + made
        files, made = one("lake_upkeep_rewrite.sql", table)
        rewritten, created = rewritten + files, created + made
    (expired,) = one("lake_upkeep_expire.sql", {"older_than": datetime.now(UTC) - expire_older_than})
    # Taken after the expiry, which schedules the files only expired snapshots used: with no grace
    # they go in this run.
    files_before = datetime.now(UTC) - file_grace
    (deleted,) = one("lake_upkeep_cleanup.sql", {"older_than": files_before})
    orphans = None
    if query_sql_file(conn, "lake_upkeep_has_function.sql", {"function_name": "ducklake_delete_orphaned_files"}).rows[
        0
    ][0]:
        (orphans,) = one("lake_upkeep_orphans.sql", {"older_than": files_before})
    return UpkeepStats(
        before=before,
        after=lake_counts(conn),
        rows_flushed=int(rows_flushed),
        files_merged=int(merged),
        files_rewritten=int(rewritten),
        files_created=int(created),
        snapshots_expired=int(expired),
        files_deleted=int(deleted),
        orphans_deleted=None if orphans is None else int(orphans),
        seconds=round(time.monotonic() - started, 3),
    )
