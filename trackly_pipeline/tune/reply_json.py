"""`json.loads` hardened for hostile replies: every outcome is a value or a TuneError-shaped failure.

- A JSON integer longer than Python converts (4,300 digits by default) made `json.loads` reject the
  whole page, so one such row failed every sweep while it was in the window. It is kept as its
  text: the row parser then rejects (quarantines) that row alone, and a text field keeps the digits.
- A number with a fraction or exponent is an exact Decimal; one Decimal cannot hold (an exponent of
  thousands of digits) is kept as its text likewise.
- Nesting: no TUNE reply is deeper than a handful of levels (root, response, data, data, row,
  model, value). A deeply nested one made `json.loads`, and everything that walks a row afterwards
  (repr for a reason, redaction, the quarantine's JSON), raise RecursionError. Replies deeper than
  MAX_NESTING are refused.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import TuneReplyRefusedError
from .values import INT_MAX_DIGITS

# Far above any TUNE reply (about 8 levels), far below Python's recursion limit (1,000).
MAX_NESTING = 64


def decode_json(text: str) -> Any:
    """`json.loads(text)` with the rules above. Raises ValueError for what is not JSON and
    TuneReplyRefusedError for nesting deeper than MAX_NESTING."""
    try:
        document = json.loads(text, parse_int=_int_or_text, parse_float=_decimal_or_text)
    except RecursionError:
        raise _too_deep() from None
    if _deeper_than(document, MAX_NESTING):
        raise _too_deep()
    return document


def _int_or_text(digits: str) -> int | str:
    if INT_MAX_DIGITS and len(digits) - digits.startswith("-") > INT_MAX_DIGITS:
        return digits
    return int(digits)


def _decimal_or_text(text: str) -> Decimal | str:
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def _deeper_than(document: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels. Level by level, without recursion
    (there is none to blow) and with list comprehensions (a 5,000-row page takes ~6 ms)."""
    level = [document] if type(document) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list = []
        for container in level:
            values = container.values() if type(container) is dict else container
            below += [value for value in values if type(value) is dict or type(value) is list]
        level = below
    return False


def _too_deep() -> TuneReplyRefusedError:
    return TuneReplyRefusedError(f"reply refused: JSON nested deeper than {MAX_NESTING} levels (no TUNE reply is)")


def paging_int(value: Any) -> int:
    """A paging member (page, pageCount, count) as an int; ValueError if it is not one, or is beyond
    64 bits (Infinity, NaN, 1e400, a 5,000-digit number: none is a page count)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(value)
    if isinstance(value, str):
        value = value.strip()
        if len(value) > 20:
            raise ValueError(value)
    if isinstance(value, float) and not (value == value and abs(value) < 2**63):  # NaN, inf, huge
        raise ValueError(value)
    # adjusted(), not abs(): abs() of 1e999999999 overflows Decimal's context (decimal.Overflow).
    if isinstance(value, Decimal) and not (value.is_finite() and (not value or value.adjusted() < 19)):
        raise ValueError(value)
    number = int(value)  # TUNE sometimes sends numbers as strings
    if abs(number) >= 2**63:
        raise ValueError(value)
    return number
