"""Every sync attempt (and attribution, rollups and Trackly log load) leaves a row in ops.sync_log, and a failed
one leaves nothing else behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from trackly_pipeline.tune.redact import redact_text
from trackly_pipeline.warehouse import unrecorded
from trackly_pipeline.warehouse.database import Warehouse, WarehouseLocked
from trackly_pipeline.warehouse.lake import LakeUnavailable
from trackly_pipeline.warehouse.sync_records import ALL_NETWORKS, SyncLogEntry, mark_interrupted_syncs, record_sync


@dataclass
class SyncAttempt:
    network: str
    kind: str
    window_start: datetime | None = None
    window_end: datetime | None = None
    sync_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    pages: int = 0
    rows: int = 0
    quarantined: int = 0
    held: int | None = None  # conversions sweeps that stored: see WindowStats.held
    present_at: datetime | None = None  # the clock resource's now, for the kinds freshness reads

    def entry(self, status: str, error: str | None = None) -> SyncLogEntry:
        return SyncLogEntry(
            sync_id=self.sync_id,
            network=self.network,
            kind=self.kind,
            window_start=self.window_start,
            window_end=self.window_end,
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            pages=self.pages,
            rows=self.rows,
            quarantined=self.quarantined,
            status=status,
            error=error,
            held=self.held,
            present_at=self.present_at,
        )


class SyncFailed(dg.Failure):
    """A sync failed; the message is redacted and names the network and what happened."""


@contextmanager
def logged_sync(warehouse: Warehouse, attempt: SyncAttempt, secrets: Sequence[str]) -> Iterator[SyncAttempt]:
    """Run a sync. Its row in ops.sync_log says 'running' from the start, so a sync whose process is
    killed is reported ('interrupted') by the next one. The block's own writes must happen in one
    transaction that also records success; a failure rolls them back, is recorded, and becomes a
    redacted dg.Failure saying which network failed and why.

    A warehouse locked by another process past `Warehouse.lock_timeout_s` fails the sync too; its
    outcome, which the locked file cannot take, is kept beside it and recorded by the next writer.
    So is the outcome of a sync whose lake's catalog database did not answer (LakeUnavailable)."""
    try:
        with warehouse.connect() as conn:

            def start() -> list:
                # First what earlier attempts could not record, so that their rows end `failed` with
                # their cause rather than `interrupted` below.
                recorded = unrecorded.reconcile(conn, warehouse.unrecorded_folder)
                mark_interrupted_syncs(conn, attempt.network, attempt.kind)
                record_sync(conn, attempt.entry("running"))
                return recorded

            recorded = warehouse.write(conn, start)
    except (WarehouseLocked, LakeUnavailable) as exc:
        raise _failure(warehouse, attempt, f"{type(exc).__name__}: {exc}", locked=True) from None
    unrecorded.forget(recorded)
    try:
        yield attempt
    except Exception as exc:
        message = redact_text(f"{type(exc).__name__}: {exc}", secrets)
        unreachable = isinstance(exc, (WarehouseLocked, LakeUnavailable))
        raise _failure(warehouse, attempt, message, locked=unreachable) from None


def _failure(warehouse: Warehouse, attempt: SyncAttempt, message: str, *, locked: bool) -> SyncFailed:
    """Record the attempt `failed` (redacted `message`) and return the failure to raise. While another
    process holds the warehouse (`locked`: the step has just waited its whole lock timeout, so it
    does not wait again), or the lake's catalog does not answer (`locked` too), the outcome is kept
    beside the file for the next writer."""
    entry = attempt.entry("failed", message)
    if locked or not _recorded(warehouse, entry):
        unrecorded.keep(warehouse.unrecorded_folder, entry)
    what = f"TUNE {attempt.kind} sync" if attempt.kind in ("conversions", "offers") else attempt.kind.capitalize()
    whose = "every network" if attempt.network == ALL_NETWORKS else f"network {attempt.network!r}"
    headline = f"{what} for {whose} failed"
    if attempt.kind.startswith("trackly."):  # loading a Trackly log (trackly.clicks): no network's
        headline = f"Loading {attempt.kind} failed"
    return SyncFailed(
        description=f"{headline}: {message}",
        metadata={"network": attempt.network, "sync_id": attempt.sync_id, "error": message},
    )


def _recorded(warehouse: Warehouse, entry: SyncLogEntry) -> bool:
    """Write `entry` to ops.sync_log; False when another process held the lock throughout."""
    try:
        with warehouse.connect() as conn:
            warehouse.write(conn, lambda: record_sync(conn, entry))
    except (WarehouseLocked, LakeUnavailable):
        return False
    return True
