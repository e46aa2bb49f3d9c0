"""Sync outcomes the warehouse could not take: recording `failed` in ops.sync_log needs the file's
lock, which another process may hold for longer than a step waits. Such an outcome is kept beside
the warehouse, one JSON file per attempt (written under a temporary name, then renamed, so a reader
never sees half of one), and the next writer records it before anything else (`reconcile`): the
attempt's row ends `failed` with its cause, never `running`, nor later `interrupted`, nor `success`
(a step that recorded success before its last part, then failed). A file that cannot be read
(empty after a power loss, half there, from another version) is set aside as
`<sync_id>.json.unreadable` with a warning: it must not stop every later sync."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import duckdb

from trackly_pipeline.warehouse.schema import sql_text
from trackly_pipeline.warehouse.sync_records import SyncLogEntry, record_sync

_TIMES = ("window_start", "window_end", "started_at", "finished_at")
UNREADABLE_SUFFIX = ".unreadable"

log = logging.getLogger(__name__)


def keep(folder: Path, entry: SyncLogEntry) -> Path:
    """Keep `entry` for the next writer, without the warehouse's lock."""
    folder.mkdir(parents=True, exist_ok=True)
    fields = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in asdict(entry).items()}
    path = folder / f"{entry.sync_id}.json"
    staging = folder / f".{entry.sync_id}.{os.getpid()}.tmp"
    with staging.open("w", encoding="utf-8") as file:
        file.write(json.dumps(fields))
        file.flush()
        os.fsync(file.fileno())  # else a power loss can leave the renamed file empty
    os.replace(staging, path)
    return path


def reconcile(conn: duckdb.DuckDBPyConnection, folder: Path) -> list[Path]:
    """Record the kept outcomes in ops.sync_log (inside the caller's transaction) and return their
    files, to remove once it commits. A kept `failed` replaces the attempt's row unless that row is
    already `failed` (recording twice changes nothing); it may say `success`, recorded before the
    step's last part failed. Unreadable files are set aside (`_set_aside`)."""
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    readable = []
    for path in files:
        entry = _read(path)
        if entry is None:
            continue
        recorded = conn.execute(sql_text("sync_log_status.sql"), {"sync_id": entry.sync_id}).fetchall()
        if not recorded or recorded[0][0] != entry.status:
            record_sync(conn, entry)
        readable.append(path)
    return readable


def _read(path: Path) -> SyncLogEntry | None:
    """The entry kept in `path`, or None (the file set aside) when it cannot be read."""
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        return SyncLogEntry(
            **{
                key: datetime.fromisoformat(value) if key in _TIMES and value else value
                for key, value in fields.items()
            }
        )
    except (ValueError, TypeError, AttributeError) as exc:  # bad JSON or dates, unknown or missing fields
        _set_aside(path, exc)
        return None


def _set_aside(path: Path, error: Exception) -> None:
    aside = path.with_name(path.name + UNREADABLE_SUFFIX)
    os.replace(path, aside)
    log.warning(
        "Set aside an unreadable sync outcome %s (%s: %s); its attempt's row in ops.sync_log stays as "
        "it is. Read it, then delete it.",
        aside,
        type(error).__name__,
        error,
    )


def forget(files: list[Path]) -> None:
    """Remove kept outcomes the warehouse has recorded (`reconcile`, committed)."""
    for path in files:
        path.unlink(missing_ok=True)
