"""Reading a reply's row array straight into Arrow, without a Python object per row.

`json.loads` of a 5,000-row conversion page builds ~150,000 Python objects that are thrown away as
soon as the columns are built. Here the reply is cut in two: the small envelope (status, errors,
paging) is parsed by `envelope.parse_body` as always, and the row array is handed to Arrow's
newline-delimited JSON reader as raw string columns (`RowTable`).

The fast path is taken only when it is provably the same reply: the cut must put a placeholder
exactly at ``response.data.data``, every row must start with the first row's model key (so
``},{"Stat":`` separates rows; outside a string that byte sequence can only be a row boundary, and
inside a valid JSON string its quote would be escaped), Arrow must read every value as a string or
null, and every string must be valid UTF-8 (Arrow's reader refuses lone ``\\udXXX`` escapes but
passes raw invalid bytes through, which DuckDB would then refuse: the table is validated). Anything
else (numbers where TUNE sends strings, duplicate keys, other layouts, malformed bytes, text that is
not UTF-8) returns None, and the caller parses the whole reply the ordinary way, so errors and odd
rows behave exactly as before: the per-row rules reject the rows with broken text, with a reason.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json

from . import envelope
from .envelope import RowTable
from .errors import TuneError

_ROWS_MEMBER = b'"data":[{"'
_PLACEHOLDER = "\u0000trackly-rows"
_PLACEHOLDER_JSON = json.dumps(_PLACEHOLDER).encode()
# Arrow parses 1 MiB blocks on separate threads; a block must hold at least one whole row.
_BLOCK_SIZE = 1 << 20


def raw_schema(fields: Sequence[str]) -> pa.Schema:
    """The Arrow schema of rows asked for with `fields` ("Model.field"): a struct of strings per model."""
    models: dict[str, list[str]] = {}
    for name in fields:
        model, _, field = name.partition(".")
        models.setdefault(model, []).append(field)
    return pa.schema([(model, pa.struct([(f, pa.string()) for f in names])) for model, names in models.items()])


def decode_page(body: bytes, schema: pa.Schema, secrets: Sequence[str] = ()) -> Any:
    """`envelope.parse_body(body, secrets)`, except that a paginated row array that can be read in
    bulk comes back as a RowTable in ``data["data"]``. Raises exactly what parse_body raises."""
    fast = _decode_in_bulk(body, schema)
    return fast if fast is not None else envelope.parse_body(body, secrets)


def _decode_in_bulk(body: bytes, schema: pa.Schema) -> dict | None:
    start = body.find(_ROWS_MEMBER)
    end = body.rfind(b"}]")
    if start < 0 or end < start:
        return None
    start += len(_ROWS_MEMBER) - 3  # at the array's "["
    end += 2  # after its "]"
    try:
        data = envelope.parse_body(body[:start] + _PLACEHOLDER_JSON + body[end:])
    except TuneError:
        return None
    if not envelope.is_paginated(data) or data["data"] != _PLACEHOLDER:
        return None
    text = body[start:end]
    key_end = text.find(b'"', 3)
    separator = b'},{"' + text[3:key_end] + b'":'
    lines = text[1:-1].replace(separator, b"}\n" + separator[2:])
    try:
        table = pa_json.read_json(
            io.BytesIO(lines),
            read_options=pa_json.ReadOptions(block_size=_BLOCK_SIZE),
            parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
        table.validate(full=True)  # full: checks that every string is UTF-8
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    data["data"] = RowTable(table, text)
    return data


__all__ = ["decode_page", "raw_schema"]
