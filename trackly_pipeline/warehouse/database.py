"""The DuckDB file: connections that always close, explicit transactions, the schema.

DuckDB allows one writing process at a time. Writers are serialised by Dagster (the `duckdb`
concurrency pool, see dagster.yaml); analysts read the published copy (see `publish`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb


CATALOG = "warehouse"


def sql_text(name: str) -> str:
    """The text of a SQL file shipped in trackly_pipeline/warehouse/sql/."""
    return resources.files("trackly_pipeline.warehouse").joinpath("sql", name).read_text(encoding="utf-8")


def run_sql_file(conn: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None) -> None:
    """Run each statement of a SQL file with the named parameters it uses. Values are always bound
    as parameters, never spliced into the SQL text."""
    params = params or {}
    for statement in _statements(sql_text(name)):
        used = {key: value for key, value in params.items() if re.search(rf"\${key}\b", statement)}
        conn.execute(statement, used)


def _statements(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in re.split(r";\s*(?:\n|$)", body) if statement.strip()]


class Warehouse:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the file, attached under the fixed name `warehouse`: a file named like
        one of our schemas (trackly.duckdb) would otherwise make `trackly.clicks` ambiguous."""
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(":memory:")
        try:
            # Days and hours in SQL are UTC days and hours, whatever the machine's zone.
            conn.execute("SET TimeZone = 'UTC'")
            conn.execute(f"ATTACH $path AS {CATALOG} ({'READ_ONLY' if read_only else 'READ_WRITE'})", {"path": str(self.path)})
            conn.execute(f"USE {CATALOG}")
            if not read_only:
                conn.execute(sql_text("schema.sql"))
            yield conn
        finally:
            conn.close()

    @property
    def published_path(self) -> Path:
        """The analysts' copy: same tables, replaced atomically after each successful write."""
        return self.path.with_name(f"{self.path.stem}_analytics{self.path.suffix}")

    def publish(self) -> Path:
        """Copy the file to the analysts' path with an atomic rename, so readers never see a
        half-written file and never hold a lock the writer needs. Call with no open writer."""
        target = self.published_path
        staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(self.path, staging)
        os.replace(staging, target)
        return target


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any error: a failed step leaves the tables as they were."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
