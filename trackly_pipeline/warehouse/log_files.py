"""One Trackly log file (Parquet or CSV): how it is read, whether it can be loaded as it is, and an
error that names it when it cannot. `trackly_logs.py` decides which files to load and loads them.

A file that cannot be loaded (empty, not Parquet or CSV, a column missing or named twice, a value
of the wrong type) stops the load of every other new or changed file of its log: the load is one
transaction, and attribution must not run on a log with a hole in it (README, "What happens when
things go wrong"). Every file is checked before anything is written, so one error names every bad
file that can be seen without loading it.
"""

from __future__ import annotations

import os

import duckdb
import pyarrow.parquet as pq

from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.schema import sql_template, sql_text

# Each reader (a subquery) gives the file's rows in file order with `source_row` (the SQL files say
# how). File paths are always bound parameters.
READERS = {
    ".parquet": sql_text("log_files_read_parquet.sql"),
    ".csv": sql_text("log_files_read_csv.sql"),
}
# Column names a file may not have: the readers' own, for each row's position.
_RESERVED = {".parquet": ("source_row", "file_row_number"), ".csv": ("source_row",)}
_FORMATS = {".parquet": "Parquet", ".csv": "CSV"}


class LogFileError(ValueError):
    """A Trackly log file that cannot be loaded as it is. The message starts with the file's path."""


def suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _nothing_loaded(kind: str) -> str:
    return (
        f"Nothing was loaded into trackly.{kind}: a file that cannot be loaded stops the load of every new "
        "or changed one. Fix or move it; the next run loads them all."
    )


def check_files(
    kind: str, columns: tuple[str, ...], sizes: dict[str, int], warehouse: Warehouse | None
) -> dict[str, set[str]]:
    """Each file's column names, lower-cased (SQL names are case-insensitive), from its header or
    footer alone; or one LogFileError naming every file that cannot be loaded."""
    present: dict[str, set[str]] = {}
    problems: list[str] = []
    for path, size in sizes.items():
        found = _names_or_problem(path, size, columns, kind, warehouse)
        if isinstance(found, str):
            problems.append(f"{path}: {found}")
        else:
            present[path] = found
    if problems:
        raise LogFileError("\n".join((*problems, _nothing_loaded(kind))))
    return present


def _names_or_problem(
    path: str, size: int, columns: tuple[str, ...], kind: str, warehouse: Warehouse | None
) -> set[str] | str:
    kind_of_file = suffix(path)
    if kind_of_file not in READERS:
        return "Trackly logs must be .parquet or .csv files"
    # DuckDB expands *, ? and [..] in a path even when it is a bound parameter, so such a path could
    # read other files too, or none.
    if any(char in path for char in "*?["):
        return "a log file's path must not contain *, ? or [ (DuckDB reads it as a pattern); rename it"
    # trackly.yaml refuses a glob that can match the warehouse's files by their names (config.py);
    # a symlink under a wildcard can still lead to one, so real paths are checked here.
    what = warehouse.own_file(path) if warehouse else None
    if what:
        return f"is {what}, written by the pipeline itself, not a Trackly log (reached through a symlink?)"
    if size == 0:
        return (
            f"is empty (0 bytes): a {_FORMATS[kind_of_file]} log file needs at least its "
            f"{'header' if kind_of_file == '.csv' else 'footer (its columns)'}"
        )
    try:
        names = _header(path, kind_of_file)
    except (duckdb.Error, OSError, ValueError) as exc:  # pyarrow's errors are ValueErrors or OSErrors
        return f"cannot be read as a {_FORMATS[kind_of_file]} file: {_first_line(exc)}"
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:  # loaded silently before: one column's values, the other's dropped
            return f"names the column {name.lower()} twice ({seen[name.lower()]!r} and {name!r}): which one holds the values is not known"
        seen[name.lower()] = name
    reserved = [name for name in _RESERVED[kind_of_file] if name in seen]
    if reserved:
        return f"has a column named {reserved[0]}, a name the loader gives each row's position in the file; rename or drop it"
    missing = [name for name in columns if name not in seen]
    if missing and len(names) == 1 and any(char in names[0] for char in ",;|\t"):
        # read_csv's sniffer falls back to one column when the rows do not line up
        return (
            f"its rows could not be read as one table (DuckDB found a single column, {names[0][:100]!r}): "
            "a row with more or fewer fields than the header?"
        )
    if missing:
        return (
            f"lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(a {kind} log needs {', '.join(columns)})"
        )
    return set(seen)


def _header(path: str, kind_of_file: str) -> list[str]:
    """A file's column names as written."""
    if kind_of_file == ".parquet":
        return pq.read_schema(path).names
    with duckdb.connect() as probe:  # its own connection: a failed read must not end the load's transaction
        header = probe.execute(sql_text("log_files_csv_header.sql"), {"path": path}).fetchone()
        names = [
            description[0]
            for description in probe.execute(sql_text("log_files_csv_names.sql"), {"path": path}).description
        ]
    raw = [str(cell) if cell is not None else "" for cell in header or ()]
    # Trust the raw first row only when it is the header read_csv found (x, or a repeat renamed x_1):
    # in a file whose first lines the sniffer skips (a comment), it is not.
    if len(raw) == len(names) and all(
        name == cell or (name.lower().startswith(cell.lower() + "_") and name[len(cell) + 1 :].isdigit())
        for name, cell in zip(names, raw)
    ):
        return raw
    return names


def execute(
    conn: duckdb.DuckDBPyConnection,
    path: str,
    kind: str,
    sql: str,
    diagnose: tuple[str, list[tuple[str, str, bool]]] | None = None,
):
    """conn.execute(sql, {"path": path}), with an error naming the file and, with `diagnose` (the
    reader, and the columns inserted with their `column_types`), its first value that cannot be
    stored: DuckDB's conversion error names neither the column nor the row."""
    try:
        return conn.execute(sql, {"path": path})
    except duckdb.Error as exc:
        found = _first_bad_value(path, kind, *diagnose) if diagnose else None
        raise LogFileError(
            f"{path}: {found or f'cannot be loaded into trackly.{kind}: {_first_line(exc)}'}. {_nothing_loaded(kind)}"
        ) from None


def column_types(conn: duckdb.DuckDBPyConnection, kind: str) -> dict[str, tuple[str, bool]]:
    """trackly.<kind>'s columns: SQL type and whether NULL is allowed (asked before the load: a
    failed statement ends the transaction)."""
    return {
        name: (data_type, nullable)
        for name, data_type, nullable in conn.execute(sql_text("catalog_log_columns.sql"), {"kind": kind}).fetchall()
    }


def _first_bad_value(path: str, kind: str, reader: str, columns: list[tuple[str, str, bool]]) -> str | None:
    """The first column, in table order, with a value trackly.<kind> cannot store, and its first row,
    read again on a connection of its own (the failed statement ended the load's transaction)."""
    try:
        with duckdb.connect() as probe:
            probe.execute("SET TimeZone = 'UTC'")  # as the warehouse reads times without an offset
            if suffix(path) == ".csv":
                probe.execute(sql_text("log_files_stage_csv.sql"), {"path": path})
            params = {"path": path} if "$path" in reader else {}
            for name, data_type, nullable in columns:  # fixed names; the types are the table's own
                query = sql_template(
                    "log_files_first_bad_value.sql", reader=reader, log_column=name, column_type=data_type
                )
                row = probe.execute(query, {**params, "required": not nullable}).fetchone()
                if row is not None:
                    where = f"column {name}, data row {row[0] + 1}"
                    if row[1] is None:
                        return f"{where}: empty, and every {kind} row needs a {name}"
                    return f"{where}: {row[1]!r} cannot be stored as {data_type}"
    except duckdb.Error:
        return None  # the error then quotes DuckDB's own message
    return None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
