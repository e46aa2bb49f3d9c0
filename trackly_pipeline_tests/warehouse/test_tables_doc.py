"""docs/tables.md is the analysts' contract: every table and column of the warehouse is documented
there, and nothing is documented that does not exist. Its scope is the whole schema (tune, trackly,
analytics, ops, reference: what the analysts read and how the pipeline is doing), the three
diagnostics tables being documented in docs/diagnostics.md, which it links to.

A table is documented by a heading that names it (`schema.table` in backticks) followed by a
`| column | type | meaning |` table, one row per column (or per columns of one meaning,
`min_paid, max_paid`), in the schema's order; a sub-heading that names no table (e.g. "How a conversion is attributed") belongs to the table above it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from trackly_pipeline.warehouse.schema import apply_schema, sql_text

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOCUMENTS = ("tables.md", "diagnostics.md")
COLUMN_TABLE_HEADER = "| column | type | meaning |"
HEADING = re.compile(r"^(#+) (.*)$")
TABLE_NAME = re.compile(r"`([a-z_]+\.[a-z_]+)`")


@dataclass
class DocumentedTable:
    where: str  # file:line of its heading
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, type) in the order documented
    has_column_table: bool = False


def documented_tables(schemas: set[str]) -> dict[str, DocumentedTable]:
    """Every table of `schemas` a heading names, with the rows of the column table under it."""
    tables: dict[str, DocumentedTable] = {}
    for document in DOCUMENTS:
        current: list[str] = []  # the tables the nearest heading naming tables names
        current_level = 0
        in_column_table = False
        lines = (DOCS / document).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            heading = HEADING.match(line)
            if heading:
                in_column_table = False
                level = len(heading.group(1))
                names = [name for name in TABLE_NAME.findall(heading.group(2)) if name.split(".")[0] in schemas]
                if names:
                    current, current_level = names, level
                    for name in names:
                        assert name not in tables, f"{document}:{number}: {name} is documented twice"
                        tables[name] = DocumentedTable(f"{document}:{number}")
                elif level <= current_level:
                    current, current_level = [], 0
                continue
            if line.strip() == COLUMN_TABLE_HEADER and current:
                assert len(current) == 1, f"{document}:{number}: one column table under a heading naming {current}"
                assert not tables[current[0]].has_column_table, f"{document}:{number}: a second column table"
                tables[current[0]].has_column_table = in_column_table = True
                continue
            if in_column_table:
                if not line.startswith("|"):
                    in_column_table = False
                elif not line.startswith("| ---"):
                    # A row may name several columns of one meaning, with one type or one each:
                    # `min_paid, max_paid | DECIMAL(18,5)`, `network, conversion_id | VARCHAR, BIGINT`.
                    names, types = (re.split(r",\s+", cell.strip()) for cell in line.strip("|").split("|")[:2])
                    types = types if len(types) == len(names) else types[:1] * len(names)
                    tables[current[0]].columns += [
                        (name.strip("`"), data_type) for name, data_type in zip(names, types)
                    ]
    return tables


@pytest.fixture(scope="module")
def schema_columns(tmp_path_factory) -> dict[str, list[tuple[str, str]]]:
    """Every table of a fresh warehouse file, with its columns (name, type) in order."""
    path = tmp_path_factory.mktemp("tables_doc") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:  # attached as its stem, `warehouse`
        apply_schema(conn, "warehouse", file=str(path))
        rows = conn.execute(sql_text("catalog_columns.sql"), {"catalog": "warehouse"}).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type, _nullable, _default in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


def test_every_table_and_column_is_documented_and_nothing_else(schema_columns):
    schemas = {table.split(".")[0] for table in schema_columns}
    # A catalog read that found nothing would compare nothing: the five schemas must be there.
    assert schemas >= {"tune", "trackly", "analytics", "ops", "reference"}, schemas
    documented = documented_tables(schemas)
    problems = [
        f"{table}: not documented (a heading naming it, then its column table)"
        for table in sorted(set(schema_columns) - set(documented))
    ]
    problems += [
        f"{table} ({documented[table].where}): documented, but not in the schema"
        for table in sorted(set(documented) - set(schema_columns))
    ]
    for table in sorted(set(schema_columns) & set(documented)):
        doc = documented[table]
        if not doc.has_column_table:
            problems.append(f"{table} ({doc.where}): no `{COLUMN_TABLE_HEADER}` table under its heading")
            continue
        have, written = dict(schema_columns[table]), dict(doc.columns)
        missing = [column for column in have if column not in written]
        unknown = [column for column in written if column not in have]
        problems += [f"{table}.{column}: not documented ({doc.where})" for column in missing]
        problems += [f"{table}.{column} ({doc.where}): documented, but not in the schema" for column in unknown]
        problems += [
            f"{table}.{column} ({doc.where}): documented as {written[column]}, the schema says {data_type}"
            for column, data_type in have.items()
            if column in written and _type(written[column]) != _type(data_type)
        ]
        if not missing and not unknown and list(written) != list(have):
            problems.append(
                f"{table} ({doc.where}): columns documented in another order than the schema's ({', '.join(have)})"
            )
    assert not problems, "docs/tables.md and the schema disagree:\n" + "\n".join(problems)


def _type(text: str) -> str:
    """A type as the catalog spells it (the doc writes TIMESTAMPTZ and DECIMAL(18,5) alike)."""
    text = text.upper().replace(" ", "")
    return {"TIMESTAMPWITHTIMEZONE": "TIMESTAMPTZ"}.get(text, text)
