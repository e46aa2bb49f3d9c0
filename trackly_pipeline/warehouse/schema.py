"""The warehouse schema: created by every writing connection, and brought up to date when an older
version of the pipeline created the file.

Upgrades are additive only. A table whose columns are the leading columns of its declaration (same
names, types, order) gets the missing trailing ones, NULL or their DEFAULT in existing rows. Anything
else (a column removed, renamed, retyped or reordered, or one this version does not know) is refused
with the table and columns named: the transforms insert by position, so a table that differs from
its declaration would take values into the wrong columns rather than fail. (Constraints and defaults
of existing columns are not compared: they cannot move a value to another column.)
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, replace
from importlib import resources

import duckdb

from trackly_pipeline.warehouse.transactions import transaction

# DDL run (idempotently) by every writing connection: the core tables, then each feature's own.
SCHEMA_FILES = sorted(
    entry.name
    for entry in resources.files("trackly_pipeline.warehouse").joinpath("sql").iterdir()
    if entry.name.startswith("schema") and entry.name.endswith(".sql")
)


# Managed by Dagster (dagster.yaml, python_logs): an upgrade shows in the run's event log.
log = logging.getLogger(__name__)


class SchemaMismatchError(RuntimeError):
    """The warehouse file has a table this version cannot write to safely."""


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    nullable: bool
    default: str | None

    def ddl(self) -> str:
        # Names and types come from our own schema files, never from the data.
        return (
            f'"{self.name}" {self.data_type}'
            + (f" DEFAULT {self.default}" if self.default is not None else "")
            + ("" if self.nullable else " NOT NULL")
        )


@functools.cache
def sql_text(name: str) -> str:
    """The text of a SQL file shipped in trackly_pipeline/warehouse/sql/ (read once per process:
    the package's files do not change under a running process)."""
    return resources.files("trackly_pipeline.warehouse").joinpath("sql", name).read_text(encoding="utf-8")


def sql_template(name: str, **identifiers: str) -> str:
    """A SQL file whose `{placeholder}`s stand for identifiers or SQL fragments built from our own
    names (a table found in the catalog or declared in code), never for values: those are bound
    as parameters. The caller quotes what it substitutes. Comment lines are left as written."""
    lines = sql_text(name).splitlines(keepends=True)
    for placeholder, value in identifiers.items():
        if not any("{" + placeholder + "}" in line for line in lines if not line.lstrip().startswith("--")):
            raise ValueError(f"{name} has no placeholder {{{placeholder}}}")
        lines = [
            line if line.lstrip().startswith("--") else line.replace("{" + placeholder + "}", value) for line in lines
        ]
    return "".join(lines)


def string_literal(value: str) -> str:
    """`value` as a SQL string literal, for the statements that take no parameters (ATTACH: DuckDB
    1.5 binds none there). Quotes are doubled; a NUL, which no literal can hold, is refused."""
    if "\0" in value:
        raise ValueError("a SQL string literal cannot hold a NUL character")
    return "'" + value.replace("'", "''") + "'"


def statements(script: str) -> list[str]:
    """The statements of a SQL script, comment lines left out."""
    body = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in re.split(r";\s*(?:\n|$)", body) if statement.strip()]


@functools.cache
def declared_macros() -> tuple[str, ...]:
    """The schema files' CREATE OR REPLACE MACRO statements, in their order."""
    return tuple(
        statement
        for name in SCHEMA_FILES
        for statement in statements(sql_text(name))
        if statement.upper().startswith("CREATE OR REPLACE MACRO")
    )


@functools.cache
def declared_macro_definitions() -> tuple[tuple, ...]:
    """The macros as DuckDB stores them once created from the schema files (comparable with a
    catalog's own, `schema_is_current`)."""
    with duckdb.connect(":memory:") as scratch:
        for name in SCHEMA_FILES:
            scratch.execute(sql_text(name))
        return _macros(scratch, "memory")


def _macros(conn: duckdb.DuckDBPyConnection, catalog: str) -> tuple[tuple, ...]:
    return tuple(map(tuple, conn.execute(sql_text("catalog_macros.sql"), {"catalog": catalog}).fetchall()))


def schema_is_current(conn: duckdb.DuckDBPyConnection, catalog: str) -> bool:
    """Every declared table with exactly its declared columns, and every macro as declared: nothing
    for `apply_schema` to do (a table this version does not declare is not ours to judge)."""
    existing, macros = _columns(conn, catalog), _macros(conn, catalog)

    def shape(columns: tuple[Column, ...]) -> list[tuple[str, str]]:
        # Names and types, as the upgrade compares them: DuckLake reports no default as 'NULL'.
        return [(column.name, column.data_type) for column in columns]

    return all(
        shape(existing.get(table, ())) == shape(columns) for table, columns in declared_columns().items()
    ) and all(macro in macros for macro in declared_macro_definitions())


def apply_schema(conn: duckdb.DuckDBPyConnection, catalog: str, *, file: str) -> list[str]:
    """Create what is missing and add the trailing columns an older version did not have. Returns
    the columns added ("schema.table.column"); raises SchemaMismatchError naming `file` otherwise."""
    existing = _columns(conn, catalog)
    if declared_columns().keys() <= existing.keys():
        # Every table (so every schema) is there: the CREATE ... IF NOT EXISTS statements would do
        # nothing, and they cost most of a writing connection's opening. The macros are replaced
        # every time, as an older version's may differ (comparing them costs more than replacing).
        for macro in declared_macros():
            conn.execute(macro)
    else:
        # One transaction: on a lake, one commit (a snapshot) instead of one per statement.
        with transaction(conn):
            for name in SCHEMA_FILES:
                conn.execute(sql_text(name))
        existing = _columns(conn, catalog)
    upgrades = {
        table: _missing_trailing_columns(table, existing[table], declared, file)
        for table, declared in declared_columns().items()
    }
    upgrades = {table: columns for table, columns in upgrades.items() if columns}
    if not upgrades:
        return []
    # One transaction: a column refused half-way, or a crash, leaves every table and the list of
    # published month files as they were, so the next writer starts the upgrade over.
    with transaction(conn):
        for table, columns in upgrades.items():
            for column in columns:
                _add_column(conn, table, column, file)
            _republish(conn, table)
    added = [f"{table}.{column.name}" for table, columns in upgrades.items() for column in columns]
    log.info(
        "%s: upgraded, added %s; those tables' months of the analysts' copy are published again", file, ", ".join(added)
    )
    return added


def _add_column(conn: duckdb.DuckDBPyConnection, table: str, column: Column, file: str) -> None:
    try:
        # Added nullable, then constrained: DuckDB 1.5 refuses ADD COLUMN ... NOT NULL outright.
        conn.execute(
            sql_template("table_add_column.sql", table_name=table, column_ddl=replace(column, nullable=True).ddl())
        )
        if not column.nullable:
            conn.execute(sql_template("table_set_not_null.sql", table_name=table, column_name=f'"{column.name}"'))
    except duckdb.ConstraintException:
        raise SchemaMismatchError(
            f"{file}: {table} has rows but no value for the new NOT NULL column {column.name} "
            "this version declares; rebuild the warehouse (README, Upgrading)"
        ) from None
    except duckdb.Error as exc:
        raise SchemaMismatchError(
            f"{file}: {table} cannot take the new column {column.ddl()} this version declares ({exc}); "
            "rebuild the warehouse (README, Upgrading)"
        ) from None


@functools.cache
def declared_columns() -> dict[str, tuple[Column, ...]]:
    """Every table the schema files declare, with its columns in order (read from a scratch
    in-memory database, so the SQL files stay the one definition)."""
    with duckdb.connect(":memory:") as scratch:
        for name in SCHEMA_FILES:
            scratch.execute(sql_text(name))
        return _columns(scratch, "memory")


def _columns(conn: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, tuple[Column, ...]]:
    rows = conn.execute(sql_text("catalog_columns.sql"), {"catalog": catalog}).fetchall()
    tables: dict[str, list[Column]] = {}
    for table, *column in rows:
        tables.setdefault(table, []).append(Column(*column))
    return {table: tuple(columns) for table, columns in tables.items()}


def _missing_trailing_columns(
    table: str, existing: tuple[Column, ...], declared: tuple[Column, ...], file: str
) -> tuple[Column, ...]:
    for position, (have, want) in enumerate(zip(existing, declared), start=1):
        if (have.name, have.data_type) != (want.name, want.data_type):
            raise SchemaMismatchError(
                f"{file}: {table} column {position} is {have.name} {have.data_type}, this version declares "
                f"{want.name} {want.data_type}; only new trailing columns are added by themselves (README, Upgrading)"
            )
    if len(existing) > len(declared):
        unknown = ", ".join(column.name for column in existing[len(declared) :])
        raise SchemaMismatchError(
            f"{file}: {table} has columns this version does not declare ({unknown}); was the file written "
            "by a newer version? (README, Upgrading)"
        )
    return declared[len(existing) :]


def _republish(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """Forget the table's published month files: the next publish writes every month again, with
    the new column (warehouse/publish.py republishes a table it has no parts for)."""
    conn.execute(sql_text("published_parts_forget_table.sql"), {"table": table})
