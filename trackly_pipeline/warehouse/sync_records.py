"""ops.sync_log and ops.quarantine: what each sync attempted, how it ended, and the API rows it
could not store."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb

from trackly_pipeline.tune import RejectedRow

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
    conn.execute("DELETE FROM ops.sync_log WHERE sync_id = $sync_id", {"sync_id": entry.sync_id})
    conn.execute(
        "INSERT INTO ops.sync_log VALUES ($sync_id, $network, $kind, $window_start, $window_end, $started_at, "
        "$finished_at, $duration, $pages, $rows, $quarantined, $status, $error, $held, $present_at)",
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
        (sync_id, network, kind, row.conversion_id, row.reason,
         json.dumps(row.raw, ensure_ascii=False, default=str), received_at)
        for row in rejected
    ]
    if rows:
        conn.executemany("INSERT INTO ops.quarantine VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute(
            "INSERT INTO ops.publish_pending VALUES ('ops.quarantine', date_trunc('month', $at)::DATE)",
            {"at": received_at},
        )
    return len(rows)


def mark_interrupted_syncs(conn: duckdb.DuckDBPyConnection, network: str, kind: str) -> int:
    """Syncs still 'running' when a new one starts never finished: their process was killed or the
    machine stopped. Their writes were never committed; say so in the log."""
    return conn.execute(
        "UPDATE ops.sync_log SET status = 'interrupted', "
        "error = 'the sync ended without finishing (process killed or stopped); nothing it read was stored' "
        "WHERE network = $network AND kind = $kind AND status = 'running'",
        {"network": network, "kind": kind},
    ).fetchone()[0]
