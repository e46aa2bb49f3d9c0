"""Load Trackly's click and message logs (Parquet or CSV files) into trackly.clicks / trackly.messages.

Only files that are new or changed since the last load are read, so an hourly run costs what
arrived since the previous one, not the whole history. Days that gained or lost rows are marked
dirty for the rollups. Every new or changed file is checked before anything is written, and one that
cannot be loaded stops the load of that log (log_files.py says why).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from datetime import datetime

import duckdb

from trackly_pipeline.warehouse import log_files
from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.publish import PARTITIONED

# Columns read from each log, and the timestamp that places a row on a day.
LOG_COLUMNS = {
    "clicks": (
        ("click_id", "message_id", "link_id", "network_id", "offer_id", "clicked_at", "ip", "user_agent"),
        "clicked_at",
    ),
    "messages": (("message_id", "creative_id", "campaign_id", "contact_id", "sending_list_id", "sent_at"), "sent_at"),
}
# Columns a log may carry: loaded when a file has them, NULL for the rows of a file without them.
# `affiliate_id`: the TUNE affiliate account the click's tracking link was built for (its `aff_id`);
# it tells apart network keys that share a network_id (rollups.sql).
OPTIONAL_LOG_COLUMNS = {"clicks": ("affiliate_id",), "messages": ()}
# A click logged with an empty message id has no message (a CSV reads it as NULL already; Parquet keeps "").
_LOADED_AS = {("clicks", "message_id"): "nullif(message_id, '') AS message_id"}


@dataclass(frozen=True)
class LogLoadStats:
    files_seen: int
    files_loaded: int
    files_removed: int
    rows_loaded: int
    total_rows: int


def load_log_files(conn: duckdb.DuckDBPyConnection, kind: str, pattern: str, loaded_at: datetime) -> LogLoadStats:
    """Bring trackly.<kind> in line with the files matching `pattern`. Call inside a transaction."""
    columns, time_column = LOG_COLUMNS[kind]
    on_disk = {path: os.stat(path) for path in sorted(glob.glob(pattern))}
    known = {
        path: (size, mtime)
        for path, size, mtime in conn.execute(
            "SELECT path, size_bytes, modified_ns FROM ops.loaded_files WHERE kind = $kind", {"kind": kind}
        ).fetchall()
    }
    # Rows loaded by a version before source_row (NULL there) are loaded again, so that every tie is
    # broken by the file's own order; the null statistics of DuckDB's row groups make this check cheap.
    unnumbered = {path for (path,) in conn.execute(
        f"SELECT DISTINCT source_file FROM trackly.{kind} WHERE source_row IS NULL").fetchall()}
    stale = [path for path in sorted(set(known) | unnumbered)
             if path not in on_disk or known.get(path) != _signature(on_disk[path]) or path in unnumbered]
    fresh = [path for path, stat in on_disk.items() if known.get(path) != _signature(stat) or path in unnumbered]
    present_in = log_files.check_files(kind, columns, {path: on_disk[path].st_size for path in fresh},
                                       _warehouse_of(conn))
    types = log_files.column_types(conn, kind)

    for path in stale:
        _mark_dirty_days(conn, kind, time_column, "WHERE source_file = $path", {"path": path})
        conn.execute(f"DELETE FROM trackly.{kind} WHERE source_file = $path", {"path": path})
        conn.execute("DELETE FROM ops.loaded_files WHERE kind = $kind AND path = $path", {"kind": kind, "path": path})

    rows_loaded = 0
    optional = OPTIONAL_LOG_COLUMNS[kind]
    column_list = ", ".join((*columns, "source_file", "source_row", *optional))
    for path in fresh:
        is_csv = log_files.suffix(path) == ".csv"
        if is_csv:
            log_files.execute(conn, path, kind, log_files.CSV_ROWS)
        reader = log_files.READERS[log_files.suffix(path)]
        # Table, reader and column names come from fixed lists only, never from the file; its path is
        # a bound parameter.
        present = present_in[path]
        values = ", ".join((*(_LOADED_AS.get((kind, name), name) for name in columns), "$path", "source_row",
                            *(name if name in present else f"NULL AS {name}" for name in optional)))
        inserted = [*columns, *(name for name in optional if name in present)]
        rows = log_files.execute(
            conn, path, kind, f"INSERT INTO trackly.{kind} ({column_list}) SELECT {values} FROM ({reader})",
            diagnose=(reader, [(name, *types[name]) for name in inserted]),
        ).fetchone()[0]
        if is_csv:
            conn.execute("DROP TABLE csv_rows")
        stat = on_disk[path]
        conn.execute(
            "INSERT INTO ops.loaded_files VALUES ($kind, $path, $size, $mtime, $rows, $loaded_at)",
            {"kind": kind, "path": path, "size": stat.st_size, "mtime": stat.st_mtime_ns, "rows": rows,
             "loaded_at": loaded_at},
        )
        _mark_dirty_days(conn, kind, time_column, "WHERE source_file = $path", {"path": path})
        rows_loaded += rows

    total = conn.execute(f"SELECT count(*) FROM trackly.{kind}").fetchone()[0]
    return LogLoadStats(len(on_disk), len(fresh), len(stale) - len([p for p in stale if p in on_disk]), rows_loaded, total)


def _warehouse_of(conn: duckdb.DuckDBPyConnection) -> Warehouse | None:
    """The warehouse file the connection writes (None in memory), whose own files a glob must not load."""
    row = conn.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return Warehouse(row[0]) if row and row[0] else None


def _signature(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_size, stat.st_mtime_ns


def _mark_dirty_days(conn, kind: str, time_column: str, where: str, params: dict) -> None:
    """Days to roll up again, and (for the published messages) months to publish again: one scan.
    The days stay in SQL: an infinite time's day, or one past year 9999, has no Python date."""
    table = f"trackly.{kind}"
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE marked_days AS SELECT DISTINCT utc_day({time_column}) AS day FROM {table} {where}",
        params,
    )
    conn.execute("INSERT INTO ops.dirty_days SELECT day, $table FROM marked_days", {"table": table})
    if table in PARTITIONED:
        conn.execute("INSERT INTO ops.publish_pending SELECT DISTINCT $table, date_trunc('month', day)::DATE "
                     "FROM marked_days", {"table": table})
    conn.execute("DROP TABLE marked_days")
