"""Network identity: which TUNE account (network_id, affiliate_id) each stored key's rows belong to.

A network's rows are stored under its key from trackly.yaml. When a key leaves the config (renamed,
removed) its rows stay, and the rollups would sum them with the configured networks': a rename
synced as if it were a new network stores every conversion twice. So the warehouse remembers every
key it stored rows under (ops.stored_networks, written with the key's first rows), a sync refuses to
store a configured key whose account an unconfigured stored key already holds, the rollups refuse
while an unconfigured key has rows, and `rename` / `forget` settle such a key in one transaction.

The network-keyed tables are found in the catalog (every table with a `network` column), so a table
added later is renamed and forgotten with the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import duckdb

from trackly_pipeline.warehouse.database import run_sql_file
from trackly_pipeline.warehouse.publish import PARTITIONED
from trackly_pipeline.warehouse.schema import sql_template, sql_text
from trackly_pipeline.warehouse.sync_records import ALL_NETWORKS

# Not a stored key's rows: the integration log (what ran, when: a forgotten key's history stays,
# and it sums nothing) and the configured networks as of the last run (rewritten from trackly.yaml).
NOT_STORED_ROWS = ("ops.sync_log", "ops.networks")


@dataclass(frozen=True)
class Identity:
    """The TUNE account a key stands for; None where a warehouse written before the registry did not say."""

    network_id: str | None
    affiliate_id: int | None

    def same_account(self, other: Identity) -> bool:
        """Whether the two are one account: the same TUNE network (known on both sides; its id names
        the API host, so case aside, as trackly.yaml compares them) and, where both know it, the same
        affiliate id. An affiliate id alone says nothing: it is only unique within one network."""
        if self.network_id is None or other.network_id is None:
            return False
        if self.network_id.casefold() != other.network_id.casefold():
            return False
        return None in (self.affiliate_id, other.affiliate_id) or self.affiliate_id == other.affiliate_id

    def __str__(self) -> str:
        return (
            f"network_id {self.network_id if self.network_id is not None else 'unknown'}, "
            f"affiliate_id {self.affiliate_id if self.affiliate_id is not None else 'unknown'}"
        )


class NetworkKeyError(RuntimeError):
    """Stored network keys and trackly.yaml disagree, or a rename/forget was refused: the message says
    which keys and what to run."""


def identities(networks: Iterable) -> dict[str, Identity]:
    """The configured identity of each network (config.NetworkConfig: key, network_id, affiliate_id)."""
    return {n.key: Identity(str(n.network_id), int(n.affiliate_id)) for n in networks}


def network_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table of the warehouse with a `network` column, as schema.table."""
    rows = conn.execute(sql_text("catalog_network_tables.sql")).fetchall()
    return [table for (table,) in rows]


def _quoted(table: str) -> str:
    # A name from the catalog (our own tables), quoted so that any spelling stays one identifier.
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))


def _row_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [table for table in network_tables(conn) if table not in NOT_STORED_ROWS]


def rows_per_table(conn: duckdb.DuckDBPyConnection, key: str) -> dict[str, int]:
    """How many rows each network-keyed table holds under `key` (tables without any left out)."""
    counts = {}
    for table in _row_tables(conn):
        ((count,),) = conn.execute(
            sql_template("networks_count_rows.sql", table=_quoted(table)), {"network": key}
        ).fetchall()
        if count:
            counts[table] = count
    return counts


def stored_keys(conn: duckdb.DuckDBPyConnection) -> dict[str, Identity]:
    """Every key with stored rows (the registry's, and any found in a table: a key with rows the
    registry does not know is still a stored key), with its stored identity."""
    union = "UNION\n".join(
        sql_template("networks_keys_in_table.sql", table=_quoted(table)) for table in _row_tables(conn)
    )
    found = {key for (key,) in conn.execute(union).fetchall()} - {ALL_NETWORKS}
    registered = registered_keys(conn)
    return {key: registered.get(key, Identity(None, None)) for key in sorted(found | set(registered))}


def registered_keys(conn: duckdb.DuckDBPyConnection) -> dict[str, Identity]:
    """The registry alone: no table is read."""
    return {
        key: Identity(network_id, affiliate_id)
        for key, network_id, affiliate_id in conn.execute(sql_text("networks_registered.sql")).fetchall()
    }


def seed_registry(conn: duckdb.DuckDBPyConnection, at: datetime) -> None:
    """Register the keys of a warehouse written before the registry (run by every writing
    connection; it reads the tables only while the registry is empty)."""
    # fetchall: a result left unfinished would make the connection's next register() fail.
    if conn.execute(sql_text("networks_registry_size.sql")).fetchall()[0][0]:
        return
    keys = list(stored_keys(conn))
    if not keys:
        return
    run_sql_file(conn, "networks_seed.sql", {"keys": keys, "at": at})


def unconfigured_keys(conn: duckdb.DuckDBPyConnection, configured: Mapping[str, Identity]) -> dict[str, Identity]:
    return {key: identity for key, identity in stored_keys(conn).items() if key not in configured}


def refuse_unconfigured(conn: duckdb.DuckDBPyConnection, configured: Mapping[str, Identity]) -> None:
    """Raise NetworkKeyError while a key not in trackly.yaml has stored rows: summed with the
    configured networks' they would double a renamed network, or keep a removed one's revenue."""
    stale = unconfigured_keys(conn, configured)
    if stale:
        raise NetworkKeyError(unconfigured_message(stale, configured))


def unconfigured_message(stale: Mapping[str, Identity], configured: Mapping[str, Identity]) -> str:
    """What is wrong and what to run, for the stored keys `stale` that are not configured."""
    named = "; ".join(f"{key!r} ({identity}{_renamed_to(identity, configured)})" for key, identity in stale.items())
    first = next(iter(stale))
    return (
        f"stored network key(s) not in trackly.yaml: {named}. Their rows would be summed with the configured "
        f"networks', so rollups and the analysts' copy wait: for a renamed key run "
        f"`trackly network rename {first} NEW_KEY`, for a removed network `trackly network forget {first}`"
    )


def _renamed_to(identity: Identity, configured: Mapping[str, Identity]) -> str:
    same = [key for key, other in configured.items() if identity.same_account(other)]
    return f"; the configured {', '.join(repr(k) for k in same)} is the same account" if same else ""


def refuse_renamed(conn: duckdb.DuckDBPyConnection, key: str, configured: Mapping[str, Identity]) -> None:
    """NetworkKeyError when an unconfigured stored key holds configured `key`'s account: storing it
    again under `key` would count every row twice (a rename synced as a new network). The registry
    is enough: a key it does not know has no known account to compare (the rollups refuse it)."""
    identity = configured[key]
    for old, stored in registered_keys(conn).items():
        if old not in configured and stored.same_account(identity):
            raise NetworkKeyError(
                f"network {key!r} ({identity}) is the account stored under {old!r}, which is no longer in "
                f"trackly.yaml: storing it again under {key!r} would count it twice. If {old!r} was renamed, run "
                f"`trackly network rename {old} {key}`; to drop the rows stored under {old!r} instead, "
                f"`trackly network forget {old}`"
            )


def register(conn: duckdb.DuckDBPyConnection, key: str, configured: Mapping[str, Identity], at: datetime) -> None:
    """Before a configured key stores rows: refuse a rename synced as a new network (`refuse_renamed`),
    else remember the key's identity (once: never rewritten from the config). Call in the
    transaction that writes the rows."""
    refuse_renamed(conn, key, configured)
    identity = configured[key]
    conn.execute(
        sql_text("networks_register.sql"),
        {"network": key, "network_id": identity.network_id, "affiliate_id": identity.affiliate_id, "at": at},
    )
    # A key seeded without an identity (rows found, none recorded) takes its account's now.
    _fill_identity(conn, key, identity)


def _fill_identity(conn: duckdb.DuckDBPyConnection, key: str, identity: Identity) -> None:
    conn.execute(
        sql_text("networks_fill_identity.sql"),
        {"network": key, "network_id": identity.network_id, "affiliate_id": identity.affiliate_id},
    )


def rename(conn: duckdb.DuckDBPyConnection, old: str, new: str, configured: Mapping[str, Identity]) -> dict[str, int]:
    """Move every row of `old` to `new` (the integration log too: the network's history continues
    under its new key). Call inside a transaction. Returns rows moved per table."""
    if old in configured:
        raise NetworkKeyError(
            f"{old!r} is still in trackly.yaml: rename it to {new!r} there first, then run this again"
        )
    if new not in configured:
        raise NetworkKeyError(f"{new!r} is not in trackly.yaml: add it there (the key {old!r} had) first")
    moved = rows_per_table(conn, old)
    if not moved:
        raise NetworkKeyError(f"no stored rows under {old!r}: nothing to rename")
    if rows_per_table(conn, new):
        raise NetworkKeyError(
            f"{new!r} already has stored rows: forget one of the two first (`trackly network forget {old}` keeps "
            f"{new!r}'s; to keep {old!r}'s, take {new!r} out of trackly.yaml, forget it, put it back and rename)"
        )
    stored, wanted = stored_keys(conn)[old], configured[new]
    if stored.network_id is None:
        raise NetworkKeyError(
            f"the TUNE network {old!r} stored its rows from is unknown (they were stored before the warehouse "
            f"recorded accounts), so moving them to {new!r} cannot be checked to be a rename: in trackly.yaml put "
            f"{old!r} back in place of {new!r} and sync it once (that records its account), then rename it there "
            f"and run this again; or, to drop its rows, `trackly network forget {old}`"
        )
    if not stored.same_account(wanted):
        raise NetworkKeyError(
            f"{old!r} stored {stored}, {new!r} is configured as {wanted}: a different account is not a rename "
            f"(to drop the rows stored under {old!r}, `trackly network forget {old}`)"
        )
    _mark_changed(conn, old, f"network {old} renamed to {new}")
    conn.execute(sql_text("networks_unconfigure.sql"), {"network": old})
    for table in [*_row_tables(conn), "ops.sync_log"]:
        conn.execute(sql_template("networks_rename_rows.sql", table=_quoted(table)), {"old": old, "new": new})
    _mark_changed(conn, new, f"network {old} renamed to {new}")
    _fill_identity(conn, new, wanted)
    return moved


def forget(conn: duckdb.DuckDBPyConnection, key: str, configured: Mapping[str, Identity]) -> dict[str, int]:
    """Delete every row of `key` but its integration log (ops.sync_log keeps what ran and when; it
    sums nothing). Call inside a transaction. Returns rows deleted per table."""
    if key in configured:
        raise NetworkKeyError(f"{key!r} is in trackly.yaml: remove it there first, then run this again")
    deleted = rows_per_table(conn, key)
    if not deleted:
        raise NetworkKeyError(f"no stored rows under {key!r}: nothing to forget")
    _mark_changed(conn, key, f"network {key} forgotten")
    conn.execute(sql_text("networks_unconfigure.sql"), {"network": key})
    for table in _row_tables(conn):
        conn.execute(sql_template("networks_forget_rows.sql", table=_quoted(table)), {"network": key})
    return deleted


def _mark_changed(conn: duckdb.DuckDBPyConnection, key: str, reason: str) -> None:
    """The key's rollup days are rebuilt, and its months of the analysts' copy published again, by
    the next rollups step."""
    run_sql_file(conn, "networks_mark_changed.sql", {"network": key, "reason": reason})
    keyed = set(network_tables(conn))
    for table, column in PARTITIONED.items():
        if table in keyed:
            conn.execute(
                sql_template("networks_mark_months.sql", table=_quoted(table), time_column=column),
                {"table": table, "network": key},
            )


def write_networks(
    conn: duckdb.DuckDBPyConnection, networks: list[tuple[str, str, str, str | None, int | None]]
) -> None:
    """ops.networks := (key, network_id, message_id_field, default_currency, affiliate_id) of the
    configured networks. The affiliate id tells apart keys that share a network_id (rollups.sql)."""
    conn.execute(sql_text("networks_clear_configured.sql"))
    conn.executemany(sql_text("networks_add_configured.sql"), networks)
