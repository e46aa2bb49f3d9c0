"""The terms a network's stored history was read in: the time zone its sweeps read TUNE's times in,
the message_id_field its attribution used, its affiliate id (ops.network_affiliates). Changing one
in trackly.yaml and syncing on would read only the run's hours in the new terms: conversions read
at another time would look vanished, and attribution would mix two fields by date. So a change is
detected before anything is written, and refused until a re-sweep over the whole stored history
(`trackly network resweep KEY`, run tag RESWEEP_TAG) records the new terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from trackly_pipeline.tune.models import extra_conversion_fields_for
from trackly_pipeline.warehouse.database import run_sql_file
from trackly_pipeline.warehouse.schema import sql_text

# The run tag of a re-sweep run: its sweep and attribution may adopt new terms (defs/resweep.py).
RESWEEP_TAG = "trackly/resweep"
# A re-sweep starts this long before the earliest stored conversion: a new zone can move a
# conversion's time by up to a day.
ZONE_SHIFT_MARGIN = timedelta(days=1)


class NetworkTermsChanged(RuntimeError):
    """A run would read a network in other terms than its stored history was read in."""


@dataclass(frozen=True)
class TermsChange:
    network: str
    changes: tuple[str, ...]  # e.g. "timezone UTC -> America/New_York"
    resweep: bool  # TUNE must be swept again; else re-attributing the stored history is enough
    new_message_id_field: str | None = None
    old_timezone: str | None = None  # set when the zone changed: the stored times are read again from it

    def refusal(self) -> NetworkTermsChanged:
        if self.resweep:
            remedy = (
                "it sweeps TUNE again over the whole stored history (from a day before its earliest "
                "conversion to the last full hour) and re-attributes it in the new terms"
            )
        else:
            remedy = (
                f"it re-attributes the whole stored history by {self.new_message_id_field} (TUNE is not asked again)"
            )
        return NetworkTermsChanged(
            f"network {self.network!r}: its stored history was read in other terms than this run's "
            "(trackly.yaml, or TUNE's zone when none is configured): "
            f"{'; '.join(self.changes)}. Nothing was written: this run's hours alone in the new terms would "
            "leave the rest of the history in the old ones (conversions read at another time would look "
            f"vanished, attribution would mix two fields). Run `trackly network resweep {self.network}`: "
            f"{remedy}; or set trackly.yaml back"
        )


@dataclass(frozen=True)
class StoredTerms:
    swept_timezone: str | None = None
    swept_message_id_field: str | None = None
    attributed_message_id_field: str | None = None
    attributed_timezone: str | None = None
    affiliate_id: int | None = None


def seed_terms(conn: duckdb.DuckDBPyConnection) -> None:
    """Record the terms of a warehouse written before ops.network_terms (run by every writing
    connection; it reads the tables only while no terms are recorded)."""
    # fetchall: a result left unfinished would make the connection's next register() fail.
    if conn.execute(sql_text("network_terms_size.sql")).fetchall()[0][0]:
        return
    run_sql_file(conn, "network_terms_seed.sql")


def stored_terms(conn: duckdb.DuckDBPyConnection, network: str) -> StoredTerms:
    """What the warehouse recorded; all None for a network (or a warehouse) that has no record yet,
    whose current config is then taken as its terms."""
    # fetchall: a result left unfinished would block the sweep's next register() on this connection.
    rows = conn.execute(sql_text("network_terms_stored.sql"), {"network": network}).fetchall()
    affiliates = conn.execute(sql_text("network_affiliates_stored.sql"), {"network": network}).fetchall()
    return StoredTerms(*(rows[0] if rows else (None,) * 4), affiliate_id=affiliates[0][0] if affiliates else None)


def sweep_change(
    conn: duckdb.DuckDBPyConnection, network: str, *, timezone: str, message_id_field: str, affiliate_id: int
) -> TermsChange | None:
    """What a sweep in these terms would change, or None. A message field change alone is the
    attribution's (the sweep stores every sub id), unless the new field is one of the optional
    affiliate_unique fields the stored rows were not asked for."""
    stored = stored_terms(conn, network)
    changes = []
    if stored.swept_timezone is not None and stored.swept_timezone != timezone:
        changes.append(f"timezone {stored.swept_timezone} -> {timezone}")
    if stored.affiliate_id is not None and stored.affiliate_id != affiliate_id:
        changes.append(
            f"affiliate_id {stored.affiliate_id} -> {affiliate_id} (the new account's older "
            "conversions were never swept)"
        )
    old_field = stored.swept_message_id_field
    if old_field is not None:
        unasked = set(extra_conversion_fields_for(message_id_field)) - set(extra_conversion_fields_for(old_field))
        if unasked:
            changes.append(
                f"message_id_field {old_field} -> {message_id_field}, which stored conversions were swept without"
            )
    if not changes:
        return None
    # The message names every pending change, attribution's too.
    field_change = attribution_change(conn, network, message_id_field=message_id_field)
    changes += [change for change in (field_change.changes if field_change else ()) if change not in changes]
    old_zone = stored.swept_timezone if stored.swept_timezone != timezone else None
    return TermsChange(
        network, tuple(changes), resweep=True, new_message_id_field=message_id_field, old_timezone=old_zone
    )


def attribution_change(conn: duckdb.DuckDBPyConnection, network: str, *, message_id_field: str) -> TermsChange | None:
    """What attributing by `message_id_field` would change against the attributed history, or None:
    another field, or conversions swept again in another zone since they were attributed."""
    stored = stored_terms(conn, network)
    changes = []
    if stored.attributed_message_id_field not in (None, message_id_field):
        changes.append(f"message_id_field {stored.attributed_message_id_field} -> {message_id_field}")
    if stored.attributed_timezone not in (None, stored.swept_timezone):
        changes.append(f"conversions re-swept in {stored.swept_timezone}, attributed in {stored.attributed_timezone}")
    return (
        TermsChange(network, tuple(changes), resweep=False, new_message_id_field=message_id_field) if changes else None
    )


def require_whole_history(
    conn: duckdb.DuckDBPyConnection, network: str, start: datetime, end: datetime, is_resweep: bool, change: TermsChange
) -> None:
    """Let a change through only in a re-sweep run whose hours hold every stored conversion of the
    network, but those of the hour after them (still going when it was planned: the re-sweep read
    their times again, and their attribution waits for the next hourly run): then no part of the
    history is left in the old terms."""
    earliest, latest = stored_history(conn, network)
    if earliest is None:
        return  # nothing stored in the old terms
    if not is_resweep:
        raise change.refusal()
    if start > earliest or latest >= end + timedelta(hours=1):
        raise NetworkTermsChanged(
            f"network {network!r}: a re-sweep must cover its whole stored history ({earliest:%Y-%m-%d %H:%M} to "
            f"{latest:%Y-%m-%d %H:%M} UTC); this run covers {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}. "
            f"Nothing was written. Run `trackly network resweep {network}`"
        )


def stored_history(conn: duckdb.DuckDBPyConnection, network: str) -> tuple[datetime | None, datetime | None]:
    """The network's earliest and latest stored conversion times (None, None when it has none)."""
    return conn.execute(sql_text("conversions_stored_history.sql"), {"network": network}).fetchall()[0]


def earliest_in_zone(conn: duckdb.DuckDBPyConnection, network: str, *, old_zone: str, new_zone: str) -> datetime | None:
    """The network's earliest stored conversion time once read again in `new_zone` (as
    conversions_retime.sql will), None when it has none."""
    return conn.execute(
        sql_text("conversions_earliest_in_zone.sql"), {"network": network, "old_zone": old_zone, "new_zone": new_zone}
    ).fetchall()[0][0]


def retime_history(
    conn: duckdb.DuckDBPyConnection, network: str, *, old_zone: str, new_zone: str, seen_at: datetime, sync_id: str
) -> int:
    """Read every stored conversion's time again in `new_zone` (conversions_retime.sql). Returns how
    many moved. Call inside the re-sweep's transaction, before the window is replaced."""
    run_sql_file(
        conn,
        "conversions_retime.sql",
        {"network": network, "old_zone": old_zone, "new_zone": new_zone, "seen_at": seen_at, "sync_id": sync_id},
    )
    return conn.execute(sql_text("conversions_retimed_count.sql")).fetchall()[0][0]


def record_swept_terms(
    conn: duckdb.DuckDBPyConnection, network: str, *, timezone: str, message_id_field: str, at: datetime
) -> None:
    """In the sweep's transaction: its rows were read in these terms."""
    _ensure_row(conn, network)
    conn.execute(
        sql_text("network_terms_record_swept.sql"),
        {"network": network, "timezone": timezone, "field": message_id_field, "at": at},
    )


def record_attributed_terms(
    conn: duckdb.DuckDBPyConnection, network: str, *, message_id_field: str, at: datetime
) -> None:
    """In the attribution's transaction: its rows were resolved by this field, from conversions in
    the zone they were last swept in."""
    _ensure_row(conn, network)
    conn.execute(
        sql_text("network_terms_record_attributed.sql"), {"network": network, "field": message_id_field, "at": at}
    )


def _ensure_row(conn: duckdb.DuckDBPyConnection, network: str) -> None:
    conn.execute(sql_text("network_terms_ensure_row.sql"), {"network": network})
