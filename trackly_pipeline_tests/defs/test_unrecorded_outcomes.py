"""Sync outcomes kept beside a locked warehouse (warehouse/unrecorded.py) and recorded by the next
writer: an unreadable one is set aside without stopping any sync, and a kept `failed` replaces a
`success` the step recorded before its last part failed (issue 16.5)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from trackly_pipeline.defs.sync_log import SyncAttempt, SyncFailed, logged_sync
from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.sync_records import ALL_NETWORKS, record_sync

from ..test_cli import HOLD_WRITE_LOCK


def kept_fields(sync_id: str) -> dict:
    at = datetime(2026, 12, 1, 10, tzinfo=UTC).isoformat()
    return {
        "sync_id": sync_id,
        "network": "acme",
        "kind": "conversions",
        "window_start": at,
        "window_end": at,
        "started_at": at,
        "finished_at": at,
        "pages": 0,
        "rows": 0,
        "quarantined": 0,
        "status": "failed",
        "error": "WarehouseLocked: warehouse locked by another process",
        "held": None,
        "present_at": None,
    }


@pytest.mark.parametrize(
    "content",
    [
        "",  # renamed, never flushed (power loss)
        json.dumps(kept_fields("half"))[:40],  # half there
        json.dumps({**kept_fields("newer"), "attempt": 2}),  # written by another version of the pipeline
    ],
    ids=["empty", "truncated", "unknown_field"],
)
def test_an_unreadable_kept_outcome_is_set_aside_and_other_syncs_go_on(tmp_path, caplog, content):
    warehouse = Warehouse(tmp_path / "trackly.duckdb", lock_timeout_s=1)
    with warehouse.connect():
        pass  # the schema
    warehouse.unrecorded_folder.mkdir()
    bad = warehouse.unrecorded_folder / "0123abcd.json"
    bad.write_text(content, encoding="utf-8")

    attempt = SyncAttempt("bolt", "conversions")  # another network's sync, unrelated to the file
    with caplog.at_level(logging.WARNING), logged_sync(warehouse, attempt, secrets=()):
        pass

    with warehouse.connect(read_only=True) as conn:
        assert conn.execute(
            "SELECT status FROM ops.sync_log WHERE sync_id = $s", {"s": attempt.sync_id}
        ).fetchall() == [("running",)]  # it started
    aside = warehouse.unrecorded_folder / "0123abcd.json.unreadable"
    assert not bad.exists() and aside.read_text(encoding="utf-8") == content
    assert warehouse.own_file(aside)  # the warehouse's file: no log glob may load it
    assert str(aside) in caplog.text


@pytest.mark.slow  # 2.0 s alone: waits for another process's lock on the warehouse
def test_a_failure_after_a_recorded_success_ends_failed_once_the_lock_is_free(tmp_path):
    warehouse = Warehouse(tmp_path / "trackly.duckdb", lock_timeout_s=1)
    attempt = SyncAttempt(ALL_NETWORKS, "rollups")
    holder = None
    with pytest.raises(SyncFailed) as failed, logged_sync(warehouse, attempt, secrets=()):
        with warehouse.connect() as conn, transaction(conn):
            record_sync(conn, attempt.entry("success"))  # as the rollups do before publishing
        # The publish fails; meanwhile another writer holds the lock.
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_WRITE_LOCK, str(warehouse.path)], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout.readline().strip() == "holding"
        raise RuntimeError("the analysts' copy was not published")
    holder.kill()
    holder.wait(timeout=30)
    assert "not published" in str(failed.value)
    assert list(warehouse.unrecorded_folder.glob("*.json"))  # kept for the next writer

    with logged_sync(warehouse, SyncAttempt("acme", "conversions"), secrets=()):  # the next writer
        pass
    with warehouse.connect(read_only=True) as conn:
        rows = conn.execute(
            "SELECT status, error FROM ops.sync_log WHERE sync_id = $s", {"s": attempt.sync_id}
        ).fetchall()
    assert [status for status, _ in rows] == ["failed"]
    assert "not published" in rows[0][1]
    assert not list(warehouse.unrecorded_folder.glob("*.json"))
