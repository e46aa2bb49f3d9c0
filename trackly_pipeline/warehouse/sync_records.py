"""ops.sync_log and ops.quarantine: what each sync attempted, how it ended, and the API rows it
could not store."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb

from trackly_pipeline.tune import RejectedRow
from trackly_pipeline.warehouse.schema import sql_text

# ops.sync_log's network of a step that works for every network at once (the rollups and the
# analysts' copy, the Trackly log loads): not a network key.
ALL_NETWORKS = "*"


@dataclass(frozen=True)
class SyncLogEntry:
    sync_id: str
    network: str
    kind: str
    window_start: datetime | None
    window_end: datetime | None
    started_at: datetime
    finished_at: datetime
    pages: int
    rows: int
    quarantined: int
    status: str
    error: str | None = None
    held: int | None = None  # conversions: stored conversions TUNE returned unreadable, kept as they were
    # conversions, attribution: the present when the attempt started; a window ending at its hour
    # reached the present (what sync_is_fresh counts)
    present_at: datetime | None = None


def record_sync(conn: duckdb.DuckDBPyConnection, entry: SyncLogEntry) -> None:
    """Write the sync's row in ops.sync_log, replacing its earlier state (running -> success or
    failed). `error` must already be redacted."""
    conn.execute(sql_text("sync_log_forget.sql"), {"sync_id": entry.sync_id})
    conn.execute(
        sql_text("sync_log_record.sql"),
        {**entry.__dict__, "duration": (entry.finished_at - entry.started_at).total_seconds()},
    )


def quarantine(
    conn: duckdb.DuckDBPyConnection,
    *,
    sync_id: str,
    network: str,
    kind: str,
    rejected: Iterable[RejectedRow],
    received_at: datetime,
) -> int:
    """Keep API rows that could not be stored as they came, with the reason and the raw row."""
    rows = [
        (
            sync_id,
            network,
            kind,
            row.conversion_id,
            row.reason,
            json.dumps(row.raw, ensure_ascii=False, default=str),
            received_at,
        )
        for row in rejected
    ]
    if rows:
        conn.executemany(sql_text("quarantine_add.sql"), rows)
        conn.execute(sql_text("quarantine_mark_month.sql"), {"at": received_at})
    return len(rows)


def mark_interrupted_syncs(conn: duckdb.DuckDBPyConnection, network: str, kind: str) -> int:
    """Syncs still 'running' when a new one starts never finished: their process was killed or the
    machine stopped. Their writes were never committed; say so in the log."""
    return conn.execute(sql_text("sync_log_mark_interrupted.sql"), {"network": network, "kind": kind}).fetchall()[0][0]
