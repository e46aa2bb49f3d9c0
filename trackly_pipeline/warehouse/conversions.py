"""Load one conversion sweep into tune.conversions: stage pages as they stream in, then replace the
swept window in one transaction. A sweep that fails part-way changes nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from trackly_pipeline.tune import RejectedRow
from trackly_pipeline.tune.conversion_schema import CONVERSION_SCHEMA
from trackly_pipeline.tune.models import conversion_id_of
from trackly_pipeline.warehouse.database import run_sql_file
from trackly_pipeline.warehouse.duplicates import refuse_duplicates
from trackly_pipeline.warehouse.schema import sql_text
from trackly_pipeline.warehouse.sync_records import quarantine

# Pages are inserted in batches of at least one DuckDB row group (122,880 rows, ~30 MB of Arrow):
# measured, an INSERT per 5,000-row page costs ~4x as much per row (benchmarks/, ingest).
STAGE_BATCH_ROWS = 122_880
# The staged columns, in tune.conversions order (without network and the seen timestamps): the
# tune layer owns them (CONVERSION_SCHEMA); the sweep adds `seq`, the row's position in the sweep.
STAGE_SCHEMA = CONVERSION_SCHEMA


@dataclass(frozen=True)
class WindowStats:
    """What one sweep did to its window."""

    rows: int
    new: int
    # Content = (converted_at, offer_id, status, payout, revenue, sale_amount, currency), as the
    # ledger compares it (conversions_replace_window.sql): a moved time or offer is `changed`.
    changed: int
    unchanged: int
    vanished: int
    quarantined: int
    transitions: dict[str, int]  # e.g. {"pending -> approved": 12}
    # Stored conversions of other affiliates forgotten before the replacement (whole history, once:
    # see conversions_forget_other_affiliates.sql).
    other_affiliates: int = 0
    # Stored conversions the sweep got back only unreadable: kept at their last good state
    # (tune.conversions.held_since), neither changed nor vanished.
    held: int = 0


class ConversionSweep:
    """Stages one sweep's pages in a temporary table of this connection (outside the DuckDB file,
    which need not be attached until `replace_window`)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, network: str, sync_id: str, affiliate_id: int | None = None):
        """With `affiliate_id` (ours, as the sweep's client asked TUNE for), stored conversions of
        other affiliates are forgotten once before the first replacement under that id."""
        self.conn = conn
        self.network = network
        self.sync_id = sync_id
        self.affiliate_id = affiliate_id
        self.rows = 0
        self.rejected: list[RejectedRow] = []
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        conn.register("no_pages", STAGE_SCHEMA.empty_table())
        try:
            conn.execute(sql_text("conversions_stage_create.sql"))
        finally:
            conn.unregister("no_pages")

    def add_table(self, table: pa.Table, rejected: Iterable[RejectedRow] = ()) -> None:
        """Stage one page given as an Arrow table with STAGE_SCHEMA columns (the columnar path,
        `TuneClient.iter_conversion_tables`). At most STAGE_BATCH_ROWS rows wait in Python."""
        if table.schema != STAGE_SCHEMA:
            raise ValueError(f"conversion page does not have the staged columns: {table.schema}")
        if table.num_rows:
            # seq keeps arrival order, so the first of two rows with one conversion_id wins.
            seq = pa.array(range(self.rows, self.rows + table.num_rows), pa.int64())
            self._pending.append(table.append_column("seq", seq))
            self._pending_rows += table.num_rows
            self.rows += table.num_rows
        self.rejected.extend(rejected)
        if self._pending_rows >= STAGE_BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Insert the pages still waiting into staged_conversions."""
        if not self._pending:
            return
        batch = pa.concat_tables(self._pending)
        self._pending, self._pending_rows = [], 0
        self.conn.register("incoming_pages", batch)
        try:
            self.conn.execute(sql_text("conversions_stage_pages.sql"))
        finally:
            self.conn.unregister("incoming_pages")

    def replace_window(self, start: datetime, end: datetime, seen_at: datetime) -> WindowStats:
        """Make tune.conversions hold exactly this sweep for [start, end). Call inside a transaction.
        DuplicateConversionsError (nothing to commit) when the network would then store a
        conversion more than once.

        A stored conversion the sweep returned only unreadable (quarantined) is not replaced: it is
        held at its last good state, and only one absent from the reply is vanished."""
        self.flush()
        params = {"network": self.network, "start": start, "end": end, "seen_at": seen_at, "sync_id": self.sync_id}
        conn = self.conn
        # Rows the sweep cannot store as they are go to quarantine with the reason.
        run_sql_file(conn, "conversions_quarantine_staged.sql", params)
        quarantine(
            conn,
            sync_id=self.sync_id,
            network=self.network,
            kind="conversion",
            rejected=self.rejected,
            received_at=seen_at,
        )
        self._unreadable_ids()
        other_affiliates = self._forget_other_affiliates(seen_at)
        run_sql_file(conn, "conversions_replace_window.sql", params)
        # The blocking check, before commit: a conversion the replacement did not reach (older than
        # the window) may still be stored twice, and nothing of this sweep may reach the rollups or
        # the analysts' copy then (the caller's transaction rolls back).
        refuse_duplicates(
            conn, f"the sweep of network {self.network!r} was not stored", self.network, tables=("tune.conversions",)
        )
        ((rows, new, changed, unchanged, vanished, held),) = conn.execute(
            sql_text("conversions_window_stats.sql")
        ).fetchall()
        ((quarantined,),) = conn.execute(sql_text("quarantine_count.sql"), {"sync_id": self.sync_id}).fetchall()
        transitions = dict(
            conn.execute(sql_text("conversions_status_transitions.sql"), {"sync_id": self.sync_id}).fetchall()
        )
        return WindowStats(
            rows,
            new,
            changed,
            unchanged,
            vanished,
            quarantined=quarantined,
            transitions=transitions,
            other_affiliates=other_affiliates,
            held=held,
        )

    def _unreadable_ids(self) -> None:
        """Temp table unreadable_ids: the conversion ids of this sweep's quarantined rows, as the row
        parser reads ids (rows the client rejected carry Stat.id as sent; those quarantined after
        staging, their stored id). TUNE returned these conversions: none of them is `vanished`."""
        raw_ids = self.conn.execute(sql_text("quarantine_conversion_ids.sql"), {"sync_id": self.sync_id}).fetchall()
        ids = sorted({i for (raw,) in raw_ids if (i := conversion_id_of(raw)) is not None})
        self.conn.register("unreadable_id_list", pa.table({"conversion_id": pa.array(ids, pa.int64())}))
        try:
            self.conn.execute(sql_text("conversions_stage_unreadable_ids.sql"))
        finally:
            self.conn.unregister("unreadable_id_list")

    def _forget_other_affiliates(self, seen_at: datetime) -> int:
        if self.affiliate_id is None:
            return 0
        cleared_for = self.conn.execute(sql_text("network_affiliates_stored.sql"), {"network": self.network}).fetchall()
        if cleared_for and cleared_for[0][0] == self.affiliate_id:
            return 0
        params = {
            "network": self.network,
            "affiliate_id": self.affiliate_id,
            "seen_at": seen_at,
            "sync_id": self.sync_id,
        }
        run_sql_file(self.conn, "conversions_forget_other_affiliates.sql", params)
        return self.conn.execute(sql_text("conversions_other_affiliates_count.sql")).fetchall()[0][0]
