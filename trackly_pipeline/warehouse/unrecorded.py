"""Sync outcomes the warehouse could not take: recording `failed` in ops.sync_log needs the file's
lock, which another process may hold for longer than a step waits. Such an outcome is kept beside
the warehouse, one JSON file per attempt (written under a temporary name, then renamed, so a reader
never sees half of one), and the next writer records it before anything else (`reconcile`): the
attempt's row ends `failed` with its cause, never `running`, nor later `interrupted`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import duckdb

from trackly_pipeline.warehouse.ops import SyncLogEntry, record_sync

_TIMES = ("window_start", "window_end", "started_at", "finished_at")


def keep(folder: Path, entry: SyncLogEntry) -> Path:
    """Keep `entry` for the next writer, without the warehouse's lock."""
    folder.mkdir(parents=True, exist_ok=True)
    fields = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in asdict(entry).items()}
    path = folder / f"{entry.sync_id}.json"
    staging = folder / f".{entry.sync_id}.{os.getpid()}.tmp"
    staging.write_text(json.dumps(fields), encoding="utf-8")
    os.replace(staging, path)
    return path


def reconcile(conn: duckdb.DuckDBPyConnection, folder: Path) -> list[Path]:
    """Record the kept outcomes in ops.sync_log (inside the caller's transaction) and return their
    files, to remove once it commits. An attempt the log already has finished (not `running`) keeps
    its row: recording twice changes nothing."""
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in files:
        fields = json.loads(path.read_text(encoding="utf-8"))
        entry = SyncLogEntry(**{key: datetime.fromisoformat(value) if key in _TIMES and value else value
                                for key, value in fields.items()})
        recorded = conn.execute("SELECT status FROM ops.sync_log WHERE sync_id = $sync_id",
                                {"sync_id": entry.sync_id}).fetchone()
        if recorded is None or recorded[0] == "running":
            record_sync(conn, entry)
    return files


def forget(files: list[Path]) -> None:
    """Remove kept outcomes the warehouse has recorded (`reconcile`, committed)."""
    for path in files:
        path.unlink(missing_ok=True)
