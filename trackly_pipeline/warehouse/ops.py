"""Operational tables: the integration log, the configured networks, reference exchange rates."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

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


def record_sync(conn: duckdb.DuckDBPyConnection, entry: SyncLogEntry) -> None:
    """Write the sync's row in ops.sync_log, replacing its earlier state (running -> success or
    failed). `error` must already be redacted."""
    conn.execute("DELETE FROM ops.sync_log WHERE sync_id = $sync_id", {"sync_id": entry.sync_id})
    conn.execute(
        "INSERT INTO ops.sync_log VALUES ($sync_id, $network, $kind, $window_start, $window_end, $started_at, "
        "$finished_at, $duration, $pages, $rows, $quarantined, $status, $error, $held)",
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


def write_networks(conn: duckdb.DuckDBPyConnection,
                   networks: list[tuple[str, str, str, str | None, int | None]]) -> None:
    """ops.networks := (key, network_id, message_id_field, default_currency, affiliate_id) of the
    configured networks. The affiliate id tells apart keys that share a network_id (rollups.sql)."""
    conn.execute("DELETE FROM ops.networks")
    conn.executemany("INSERT INTO ops.networks VALUES (?, ?, ?, ?, ?)", networks)


def load_fx_rates(conn: duckdb.DuckDBPyConnection, path: Path | None) -> int:
    """Replace reference.fx_rates with the user's CSV (date,currency,rate). Returns the row count.

    The file is checked row by row: a bad date, currency or rate, or two different rates for the
    same day and currency, fails with the line number instead of loading a guess."""
    rows: dict[tuple[date, str], Decimal] = {}
    if path is not None:
        if not path.is_file():
            # Loading no rates would leave every converted amount NULL: say why instead.
            raise FileNotFoundError(f"fx_rates: no such file: {path} (configured in trackly.yaml)")
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"date", "currency", "rate"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            for line, record in enumerate(reader, start=2):
                try:
                    day = date.fromisoformat(record["date"].strip())
                    currency = record["currency"].strip().upper()
                    rate = Decimal(record["rate"].strip())
                except (ValueError, InvalidOperation, AttributeError):
                    raise ValueError(f"{path}:{line}: not a valid date,currency,rate row: {record}") from None
                if len(currency) != 3 or not currency.isalpha() or not rate.is_finite() or rate <= 0:
                    raise ValueError(f"{path}:{line}: not a valid date,currency,rate row: {record}")
                if rows.setdefault((day, currency), rate) != rate:
                    raise ValueError(f"{path}:{line}: a second, different rate for {currency} on {day}")
    conn.execute("DELETE FROM reference.fx_rates")
    if rows:  # DuckDB refuses an executemany without rows (a file with its header only)
        conn.executemany(
            "INSERT INTO reference.fx_rates VALUES (?, ?, ?)", [(d, c, r) for (d, c), r in sorted(rows.items())]
        )
    return len(rows)
