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
from trackly_pipeline.warehouse.database import Warehouse, run_sql_file
from trackly_pipeline.warehouse.publish import PARTITIONED
from trackly_pipeline.warehouse.schema import sql_template, sql_text

# Columns read from each log (a file must have them; trackly_logs_load_<kind>.sql loads them), and
# the timestamp that places a row on a day.
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
    table = f"trackly.{kind}"  # from LOG_COLUMNS' fixed names
    on_disk = {path: os.stat(path) for path in sorted(glob.glob(pattern))}
    known = {
        path: (size, mtime)
        for path, size, mtime in conn.execute(sql_text("loaded_files_known.sql"), {"kind": kind}).fetchall()
    }
    # Rows loaded by a version before source_row (NULL there) are loaded again, so that every tie is
    # broken by the file's own order; the null statistics of DuckDB's row groups make this check cheap.
    unnumbered = {
        path for (path,) in conn.execute(sql_template("trackly_logs_unnumbered_files.sql", table=table)).fetchall()
    }
    stale = [
        path
        for path in sorted(set(known) | unnumbered)
        if path not in on_disk or known.get(path) != _signature(on_disk[path]) or path in unnumbered
    ]
    fresh = [path for path, stat in on_disk.items() if known.get(path) != _signature(stat) or path in unnumbered]
    present_in = log_files.check_files(
        kind, columns, {path: on_disk[path].st_size for path in fresh}, _warehouse_of(conn)
    )
    types = log_files.column_types(conn, kind)

    for path in stale:
        _mark_dirty_days(conn, table, time_column, path)
        conn.execute(sql_template("trackly_logs_forget_file.sql", table=table), {"path": path})
        conn.execute(sql_text("loaded_files_forget.sql"), {"kind": kind, "path": path})

    rows_loaded = 0
    optional = OPTIONAL_LOG_COLUMNS[kind]
    for path in fresh:
        is_csv = log_files.suffix(path) == ".csv"
        if is_csv:
            log_files.execute(conn, path, kind, sql_text("log_files_stage_csv.sql"))
        reader = log_files.READERS[log_files.suffix(path)]
        # The reader and the column names come from fixed lists only, never from the file; its path
        # is a bound parameter.
        present = present_in[path]
        inserted = [*columns, *(name for name in optional if name in present)]
        load = sql_template(
            f"trackly_logs_load_{kind}.sql",
            reader=reader,
            **{name: name if name in present else "NULL" for name in optional},
        )
        ((rows,),) = log_files.execute(
            conn,
            path,
            kind,
            load,
            diagnose=(reader, [(name, *types[name]) for name in inserted]),
        ).fetchall()
        if is_csv:
            conn.execute(sql_text("log_files_unstage_csv.sql"))
        stat = on_disk[path]
        conn.execute(
            sql_text("loaded_files_record.sql"),
            {
                "kind": kind,
                "path": path,
                "size": stat.st_size,
                "mtime": stat.st_mtime_ns,
                "rows": rows,
                "loaded_at": loaded_at,
            },
        )
        _mark_dirty_days(conn, table, time_column, path)
        rows_loaded += rows

    ((total,),) = conn.execute(sql_template("trackly_logs_count_rows.sql", table=table)).fetchall()
    return LogLoadStats(
        len(on_disk), len(fresh), len(stale) - len([p for p in stale if p in on_disk]), rows_loaded, total
    )


def _warehouse_of(conn: duckdb.DuckDBPyConnection) -> Warehouse | None:
    """The warehouse file the connection writes (None in memory), whose own files a glob must not load."""
    rows = conn.execute(sql_text("catalog_current_path.sql")).fetchall()
    path = rows[0][0] if rows else None
    return Warehouse(path) if path else None


def _signature(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_size, stat.st_mtime_ns


def _mark_dirty_days(conn: duckdb.DuckDBPyConnection, table: str, time_column: str, path: str) -> None:
    """The days of one file's rows to roll up again, and (for the published messages) months to
    publish again (trackly_logs_mark_file_days.sql)."""
    run_sql_file(
        conn,
        "trackly_logs_mark_file_days.sql",
        {"path": path, "table": table, "published": table in PARTITIONED},
        identifiers={"table": table, "time_column": time_column},
    )
