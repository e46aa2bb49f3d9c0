"""Write one network's offer catalog into tune.offers, keeping which offers are imported."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from trackly_pipeline.warehouse.database import run_sql_file
from trackly_pipeline.warehouse.schema import sql_text

OFFER_SCHEMA = pa.schema(
    [
        ("offer_id", pa.int64()),
        ("name", pa.string()),
        ("tune_name", pa.string()),
        ("status", pa.string()),
        ("payout", pa.decimal128(18, 5)),
        ("payout_type", pa.string()),
        ("percent_payout", pa.decimal128(18, 5)),
        ("currency", pa.string()),
        ("advertiser_id", pa.int64()),
        ("advertiser", pa.string()),
        ("offer_url", pa.string()),
        ("tracking_url", pa.string()),
        ("postback_url", pa.string()),
        ("modified_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class OfferRow:
    """An offer as Trackly stores it: TUNE's fields plus the links Trackly builds for it."""

    offer_id: int
    name: str
    tune_name: str
    status: str
    payout: object
    payout_type: str | None
    percent_payout: object
    currency: str | None
    advertiser_id: int | None
    advertiser: str | None
    offer_url: str | None
    tracking_url: str
    postback_url: str
    modified_at: datetime | None


@dataclass(frozen=True)
class OfferSyncStats:
    offers: int
    imported: int
    newly_imported: int
    changes: int = 0  # rows this sync added to tune.offer_changes


def offer_table(rows: list[OfferRow]) -> pa.Table:
    """The rows as an OFFER_SCHEMA table. `tune.parse_offer_row` rejects (for quarantine) every offer
    these columns cannot hold; should one get here all the same, the error names the offer and the
    field instead of Arrow's bare "Rescaling Decimal value would cause data loss"."""
    try:
        return pa.Table.from_pylist([row.__dict__ for row in rows], schema=OFFER_SCHEMA)
    except (pa.ArrowException, OverflowError, UnicodeEncodeError, TypeError):
        for row in rows:
            for field in OFFER_SCHEMA:
                try:
                    pa.array([getattr(row, field.name)], field.type)
                except (pa.ArrowException, OverflowError, UnicodeEncodeError, TypeError) as bad:
                    raise ValueError(
                        f"offer {row.offer_id!r}: {field.name} cannot be stored as {field.type}: "
                        f"{getattr(row, field.name)!r:.80} ({bad})"
                    ) from None
        raise


def replace_offers(
    conn: duckdb.DuckDBPyConnection,
    network: str,
    offers: Iterable[OfferRow],
    *,
    import_all: bool,
    import_ids: Iterable[int] = (),
    synced_at: datetime,
    sync_id: str | None = None,
) -> OfferSyncStats:
    """Replace the network's catalog. An offer is imported when auto-sync is on, when it was
    imported before, or when this sync was asked to import it. What changed against the previous
    catalog is recorded in tune.offer_changes (offer_changes.sql). Call inside a transaction."""
    rows = list(offers)
    table = offer_table(rows)
    conn.register("incoming_offers", table)
    conn.register("requested_ids", pa.table({"offer_id": pa.array(sorted(set(import_ids)), pa.int64())}))
    try:
        before = conn.execute(sql_text("offers_imported_count.sql"), {"network": network}).fetchall()[0][0]
        changes_before = conn.execute(sql_text("offer_changes_count.sql")).fetchall()[0][0]
        params = {"network": network, "import_all": import_all, "synced_at": synced_at, "sync_id": sync_id}
        run_sql_file(conn, "offers_replace.sql", params)
        run_sql_file(conn, "offer_changes.sql", params)
        changes = conn.execute(sql_text("offer_changes_count.sql")).fetchall()[0][0] - changes_before
    finally:
        conn.unregister("incoming_offers")
        conn.unregister("requested_ids")
    imported = conn.execute(sql_text("offers_imported_count.sql"), {"network": network}).fetchall()[0][0]
    return OfferSyncStats(
        offers=len(rows), imported=imported, newly_imported=max(imported - before, 0), changes=changes
    )
