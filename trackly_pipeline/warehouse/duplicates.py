"""Conversions stored more than once, and the refusal to go on while there are any: the rollups
would count such a conversion twice, and analysts would see it doubled. The repair is `dedupe`."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from trackly_pipeline.warehouse.schema import sql_text

# Conversion ids a message names (all are counted).
SAMPLE = 5
# The tables keyed by (network, conversion_id), where a conversion is stored once.
KEYED_TABLES = ("tune.conversions", "analytics.attributed_conversions")


@dataclass(frozen=True)
class DuplicateConversion:
    table_name: str  # tune.conversions | analytics.attributed_conversions
    network: str
    conversion_id: int
    copies: int


class DuplicateConversionsError(RuntimeError):
    """Conversions stored more than once; the message names the networks and the repair."""


def find_duplicates(
    conn: duckdb.DuckDBPyConnection, network: str | None = None, tables: tuple[str, ...] = KEYED_TABLES
) -> list[DuplicateConversion]:
    """The duplicated conversions of `network`, or of every network, in `tables` (of KEYED_TABLES;
    the others are not scanned), ordered by table, network and id."""
    conn.execute(
        sql_text("duplicate_conversions.sql"),
        {"network": network or "", "every_network": network is None, "tables": list(tables)},
    ).fetchall()
    rows = conn.execute(sql_text("duplicate_conversions_found.sql")).fetchall()
    return [DuplicateConversion(*row) for row in rows]


def describe(duplicates: list[DuplicateConversion]) -> str:
    """Per table and network: how many conversions are stored more than once, a few of their ids,
    and the command that repairs them."""
    groups: dict[tuple[str, str], list[DuplicateConversion]] = {}
    for duplicate in duplicates:
        groups.setdefault((duplicate.table_name, duplicate.network), []).append(duplicate)
    parts = []
    for (table, network), group in groups.items():
        ids = ", ".join(f"{d.conversion_id} ({d.copies} rows)" for d in group[:SAMPLE])
        parts.append(
            f"network {network!r}: {len(group)} conversion(s) stored more than once in {table} "
            f"(conversion_id {ids}{', ...' if len(group) > SAMPLE else ''})"
        )
    networks = sorted({d.network for d in duplicates})
    repair = "; ".join(f"trackly network dedupe {network}" for network in networks)
    return f'{"; ".join(parts)}. Keep one row per conversion with: {repair} (README, "A conversion stored twice")'


def refuse_duplicates(
    conn: duckdb.DuckDBPyConnection, what: str, network: str | None = None, tables: tuple[str, ...] = KEYED_TABLES
) -> None:
    """Raise DuplicateConversionsError, saying `what` did not happen, while `network` (or any
    network) has a conversion stored more than once in one of `tables`."""
    duplicates = find_duplicates(conn, network, tables)
    if duplicates:
        raise DuplicateConversionsError(f"{what}: {describe(duplicates)}")
