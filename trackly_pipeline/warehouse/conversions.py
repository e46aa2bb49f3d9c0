"""Load one conversion sweep into tune.conversions: stage pages as they stream in, then replace the
swept window in one transaction. A sweep that fails part-way changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from trackly_pipeline.tune import Conversion, RejectedRow
from trackly_pipeline.warehouse.database import run_sql_file

MONEY = pa.decimal128(18, 5)
UTC_TIME = pa.timestamp("us", tz="UTC")
SUB_ID_FIELDS = (
    "aff_sub", "aff_sub2", "aff_sub3", "aff_sub4", "aff_sub5", "source",
    "affiliate_unique1", "affiliate_unique2", "affiliate_unique3", "affiliate_unique4", "affiliate_unique5",
)
# The staged columns, in tune.conversions order (without network and the seen timestamps).
STAGE_SCHEMA = pa.schema(
    [
        ("conversion_id", pa.int64()),
        ("tune_event_id", pa.string()),
        ("converted_at", UTC_TIME),
        ("ad_id", pa.string()),
        ("offer_id", pa.int64()),
        ("affiliate_id", pa.int64()),
        ("goal_id", pa.int64()),
        ("status", pa.string()),
        ("status_code", pa.int32()),
        ("is_adjustment", pa.bool_()),
        ("payout", MONEY),
        ("revenue", MONEY),
        ("sale_amount", MONEY),
        ("currency", pa.string()),
        *[(name, pa.string()) for name in SUB_ID_FIELDS],
    ]
)


@dataclass(frozen=True)
class WindowStats:
    """What one sweep did to its window."""

    rows: int
    new: int
    changed: int
    unchanged: int
    vanished: int
    quarantined: int


def conversions_to_arrow(conversions: Sequence[Conversion], first_seq: int) -> pa.Table:
    columns = {name: [getattr(c, name) for c in conversions] for name in STAGE_SCHEMA.names}
    table = pa.Table.from_pydict(columns, schema=STAGE_SCHEMA)
    return table.append_column("seq", pa.array(range(first_seq, first_seq + len(conversions)), pa.int64()))


class ConversionSweep:
    """Stages one sweep's pages in a temporary table of this connection (outside the DuckDB file)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, network: str, sync_id: str):
        self.conn = conn
        self.network = network
        self.sync_id = sync_id
        self.rows = 0
        self.rejected: list[tuple[str | None, str, str]] = []
        conn.execute("CREATE OR REPLACE TEMP TABLE staged_conversions AS SELECT * FROM tune.conversions LIMIT 0")
        conn.execute(
            "ALTER TABLE staged_conversions DROP COLUMN network; "
            "ALTER TABLE staged_conversions DROP COLUMN first_seen_at; "
            "ALTER TABLE staged_conversions DROP COLUMN last_seen_at; "
            "ALTER TABLE staged_conversions ADD COLUMN seq BIGINT"
        )

    def add_page(self, conversions: Sequence[Conversion], rejected: Iterable[RejectedRow] = ()) -> None:
        if conversions:
            page = conversions_to_arrow(conversions, self.rows)
            self.conn.register("incoming_page", page)
            try:
                self.conn.execute("INSERT INTO staged_conversions SELECT * FROM incoming_page")
            finally:
                self.conn.unregister("incoming_page")
            self.rows += len(conversions)
        for row in rejected:
            self.rejected.append((row.conversion_id, row.reason, json.dumps(row.raw, ensure_ascii=False, default=str)))

    def replace_window(self, start: datetime, end: datetime, seen_at: datetime) -> WindowStats:
        """Make tune.conversions hold exactly this sweep for [start, end). Call inside a transaction."""
        params = {"network": self.network, "start": start, "end": end, "seen_at": seen_at, "sync_id": self.sync_id}
        conn = self.conn
        # Rows the sweep cannot store as they are go to quarantine with the reason.
        run_sql_file(conn, "conversions_quarantine_staged.sql", params)
        for record_id, reason, raw in self.rejected:
            conn.execute(
                "INSERT INTO ops.quarantine VALUES ($sync_id, $network, 'conversion', $record_id, $reason, $raw, $seen_at)",
                {**params, "record_id": record_id, "reason": reason, "raw": raw},
            )
        run_sql_file(conn, "conversions_replace_window.sql", params)
        stats = conn.execute("SELECT * FROM window_stats").fetchone()
        quarantined = conn.execute(
            "SELECT count(*) FROM ops.quarantine WHERE sync_id = $sync_id", {"sync_id": self.sync_id}
        ).fetchone()[0]
        return WindowStats(*stats, quarantined=quarantined)
