"""Reading TUNE reply bodies: success/failure, pagination and row shapes.

Shapes seen in real replies (see trackly_pipeline_tests/tune/recorded):
- success: ``{"request": {...}, "response": {"status": 1, "data": ...}}``
- failure: ``status`` other than 1, or missing entirely (invalid network id), with messages in
  ``errorMessage`` and/or ``errors`` (a list of objects, or a single object)
- paginated data: ``{"page", "count", "pageCount", "data": rows}``; unpaginated: the rows
- rows: a list, an id-keyed object, or ``[]`` when empty; ``findById`` not found: ``null``

Bodies are read by `loads`: JSON numbers with a fraction or exponent become exact Decimals (money
sent as a number keeps every digit), and bytes that are not UTF-8 are read as lone surrogates
U+DC80..U+DCFF (Python's "surrogateescape"), like JSON ``\\udXXX`` escapes without a pair. Such
text cannot be stored, so the value parsers reject the row that holds it (quarantined with the
reason) and the rest of the page is kept. Invalid UTF-8 is deliberately not treated as a malformed
reply to retry: it is what TUNE has stored (e.g. a sub id sent in Latin-1), so every retry would
return it again and one row would fail the whole sweep on every run. A reply cut short or corrupted
in transit is still not valid JSON, and still retried.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import TuneResponseError, api_error_class
from .redact import redacted_excerpt
from .reply_json import decode_json, paging_int
from .values import storable

_SNIPPET_LENGTH = 200


@dataclass(frozen=True)
class RowTable:
    """A page's rows read in bulk (`raw_rows.decode_page`): `table` has one struct column per model
    (e.g. "Stat"), every field a string; `text` is the row array as sent, for `rows()`."""

    table: Any  # pyarrow.Table
    text: bytes

    def rows(self) -> list[dict]:
        """The same rows as Python objects, for when they must be looked at one by one."""
        try:
            return rows_of(loads(self.text))
        except ValueError as exc:  # Arrow has read it, so not expected; fail clearly all the same
            raise TuneResponseError(f"row array is not valid JSON ({exc})") from None


@dataclass(frozen=True)
class Page:
    """One page of a paginated call; ``rows`` are the row objects as TUNE sent them, or a RowTable
    when the caller asked for the rows in bulk."""

    number: int
    page_count: int
    total_count: int
    rows: list[dict] | RowTable

    @property
    def row_count(self) -> int:
        """How many rows TUNE sent on this page, however they were read."""
        return self.rows.table.num_rows if isinstance(self.rows, RowTable) else len(self.rows)


def loads(body: str | bytes) -> Any:
    """`json.loads` for TUNE replies: exact Decimal for JSON numbers with a fraction or exponent
    (ints stay ints), and bytes that are not UTF-8 read as lone surrogates instead of failing;
    numbers too long for Python kept as text, and nesting bounded (`reply_json.decode_json`).
    Raises ValueError (json.JSONDecodeError) for what is not JSON, TuneReplyRefusedError for
    nesting no TUNE reply has."""
    if isinstance(body, (bytes, bytearray)):
        encoding = json.detect_encoding(body)
        try:
            body = bytes(body).decode(encoding, "surrogatepass")  # what json.loads(bytes) does
        except UnicodeDecodeError:
            body = bytes(body).decode(encoding, "surrogateescape")
    return decode_json(body)


def parse_body(body: str | bytes, secrets: Sequence[str] = ()) -> Any:
    """Return ``response.data`` of a reply body, or raise.

    Raises TuneResponseError for anything that is not a TUNE envelope, and the matching
    TuneApiError subclass when TUNE reports a failure. Messages may contain reply text: excerpts
    have `secrets` masked (they must be, before the cut), whole API messages are for callers to redact.
    """
    try:
        document = loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TuneResponseError(f"reply is not valid JSON ({exc}): {_snippet(body, secrets)!r}") from None
    response = document.get("response") if isinstance(document, dict) else None
    if not isinstance(response, dict):
        raise TuneResponseError(f"reply has no 'response' object: {_snippet(body, secrets)!r}")
    status = response.get("status")
    if type(status) is int and status == 1:
        return response.get("data")
    message = error_message(response)
    raise api_error_class(message)(message)


def error_message(response: dict) -> str:
    """Collect the distinct messages of a failed ``response`` into one line."""
    messages: list[str] = []
    _add_message(messages, response.get("errorMessage"))
    errors = response.get("errors")
    for error in [errors] if isinstance(errors, dict) else errors if isinstance(errors, list) else []:
        if isinstance(error, dict):
            _add_message(messages, error.get("publicMessage"))
            _add_message(messages, error.get("err_msg"))
        else:
            _add_message(messages, error)
    if messages:
        return "; ".join(messages)
    return f"TUNE reported a failure without a message (status={response.get('status')!r})"


def _add_message(messages: list[str], candidate: Any) -> None:
    if not isinstance(candidate, str):
        return
    # Lone surrogates (see `loads`) as their escape text: the message is logged and stored.
    message = storable(candidate.strip())
    if message and message not in messages:
        messages.append(message)


def is_paginated(data: Any) -> bool:
    return isinstance(data, dict) and "pageCount" in data and "data" in data


def rows_of(data: Any) -> list[dict]:
    """Rows of an unpaginated ``data`` (or of a paginated ``data.data``): list, id-keyed object,
    ``[]`` or ``null``."""
    if data is None:
        return []
    values: Iterable[Any]
    if isinstance(data, list):
        values = data
    elif isinstance(data, dict):
        values = data.values()
    else:
        raise TuneResponseError(f"expected rows as a list or object, got {type(data).__name__}")
    rows = list(values)
    for row in rows:
        if not isinstance(row, dict):
            raise TuneResponseError(f"expected each row to be an object, got {type(row).__name__}")
    return rows


def page_of(data: Any) -> Page:
    """Read one page; an unpaginated reply counts as a single, complete page."""
    if not is_paginated(data):
        rows = rows_of(data)
        return Page(number=1, page_count=1 if rows else 0, total_count=len(rows), rows=rows)
    return Page(
        number=_int_member(data, "page", default=1),
        page_count=_int_member(data, "pageCount"),
        total_count=_int_member(data, "count", default=0),
        rows=data["data"] if isinstance(data["data"], RowTable) else rows_of(data["data"]),
    )


def _int_member(data: dict, name: str, default: int | None = None) -> int:
    value = data.get(name, default)
    try:
        return paging_int(value)
    except (TypeError, ValueError):
        raise TuneResponseError(f"paginated reply has a non-integer {name!r}: {_paging_value(value)}") from None


def _paging_value(value: Any) -> str:
    # Text is described, not quoted: this module does not know the token, and a cut could split it.
    if isinstance(value, str):
        return f"text of {len(value)} characters"
    return redacted_excerpt(repr(value), (), 60)


def _snippet(body: str | bytes, secrets: Sequence[str]) -> str:
    return redacted_excerpt(body, secrets, _SNIPPET_LENGTH)
