"""Defensive converters for TUNE's loosely typed values (numbers and booleans often arrive as
strings, empty strings stand for "no value", zero dates for "never").

Each converter raises ValueError with a short description; callers add the field name.

Numbers may also arrive as JSON numbers: replies are read with ``parse_float=Decimal``
(`envelope.loads`), so a JSON number is an int or an exact Decimal here, never a float.

Text must be valid Unicode: a lone surrogate (a JSON ``\\ud800`` escape, or an invalid UTF-8 byte in
the reply, which `envelope.loads` reads as U+DC80..U+DCFF) cannot be stored, so it is rejected.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

MAX_ABS_AMOUNT = Decimal("1e12")
TUNE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ZERO_DATETIME = "0000-00-00 00:00:00"

_INTEGER = re.compile(r"[+-]?\d+")
# Python's limit on the digits int() converts (0: none); `reply_json` keeps a longer integer as its text.
INT_MAX_DIGITS = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
_CURRENCY = re.compile(r"[A-Z]{3}")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"is not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        digits = len(value.strip().lstrip("+-"))
        if INT_MAX_DIGITS and digits > INT_MAX_DIGITS:  # Python would refuse to convert it
            raise ValueError(f"is out of range ({digits:,} digits): {_short(value)}")
        return int(value)
    raise ValueError(f"is not an integer: {_short(value)}")


def to_optional_int(value: Any) -> int | None:
    return None if is_blank(value) else to_int(value)


def to_amount(value: Any) -> Decimal:
    """Exact decimal amount; rejects non-numbers, NaN/Infinity and |x| >= 1e12."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"is not a number: {_short(value)}")
    if isinstance(value, float):
        value = repr(value)  # shortest text that round-trips, e.g. 1.1 -> "1.1", nan -> "nan"
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, str) and "_" not in value:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"is not a number: {_short(value)}") from None
    else:
        raise ValueError(f"is not a number: {_short(value)}")
    if not number.is_finite():
        raise ValueError(f"is not finite: {_short(value)}")
    # adjusted(), not abs(): abs() of 1e999999999 overflows Decimal's context (decimal.Overflow).
    if number and number.adjusted() >= MAX_ABS_AMOUNT.adjusted():
        raise ValueError(f"is out of range (|amount| >= 1e12): {_short(value)}")
    if not number and number.as_tuple().exponent > 0:
        return Decimal(0).copy_sign(number)  # 0e999999999 is 0; its exponent would overflow on the way to DuckDB
    return number


def to_optional_amount(value: Any) -> Decimal | None:
    return None if is_blank(value) else to_amount(value)


def to_bool(value: Any) -> bool:
    """TUNE booleans: "0"/"1", 0/1, true/false; null counts as false."""
    if value is None or value is False or value is True:
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"0", "1", "", "true", "false"}:
        return value.strip().lower() in {"1", "true"}
    raise ValueError(f"is not a boolean: {_short(value)}")


def to_optional_text(value: Any) -> str | None:
    """Strings as sent; "" means no value. Numbers are accepted as their text (integers only: a
    JSON number with a fraction is a Decimal, and is not text)."""
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"is not text: {_short(value)}")
    return check_unicode(str(value))


def is_unicode(text: str) -> bool:
    """Whether UTF-8 can hold `text` (it has no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_unicode(text: str) -> str:
    """`text` when UTF-8 can hold it; ValueError naming the first lone surrogate otherwise."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"is not valid Unicode text: {describe_surrogate(text, exc.start)}") from None
    return text


def describe_surrogate(text: str, index: int) -> str:
    code = ord(text[index])
    where = f"lone surrogate U+{code:04X} at character {index}"
    if 0xDC80 <= code <= 0xDCFF:  # how envelope.loads reads a byte that is not UTF-8
        return f"{where} (invalid UTF-8 byte 0x{code - 0xDC00:02X} in the reply, or a \\u{code:04x} escape)"
    return where


def storable(value: Any) -> Any:
    """A JSON-like value as a row is kept for the quarantine: every lone surrogate (in strings and
    keys) written as its ``\\udXXX`` escape text, so that it can be stored as UTF-8; a Decimal (a
    JSON number) as a float when the float has the same value, else kept exact (it is then written
    as its digits); anything else as it is."""
    if isinstance(value, str):
        return value if is_unicode(value) else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, Decimal):
        number = float(value)
        return number if Decimal(repr(number)) == value else value
    return value


def to_currency(value: Any) -> str | None:
    if is_blank(value):
        return None  # TUNE: null currency means the network's default currency
    if isinstance(value, str) and _CURRENCY.fullmatch(value):
        return value
    raise ValueError(f"is not a 3-letter upper-case currency code: {_short(value)}")


def local_to_utc(value: Any, tz: ZoneInfo) -> datetime:
    """Network-local "YYYY-MM-DD HH:MM:SS" -> UTC-aware datetime.

    An ambiguous local time (a wall time a fall-back repeats) reads as its later instant (fold=1),
    never before the conversion really happened: a click that preceded the conversion keeps
    preceding it (docs/tables.md, tune.conversions.converted_at). Local times that do not exist
    (DST spring-forward gap) are rejected.
    """
    if not isinstance(value, str):
        raise ValueError(f"is not a datetime string: {_short(value)}")
    try:
        naive = datetime.strptime(value.strip(), TUNE_DATETIME_FORMAT)
    except ValueError:
        raise ValueError(f"is not a 'YYYY-MM-DD HH:MM:SS' datetime: {_short(value)}") from None
    aware = naive.replace(tzinfo=tz, fold=1)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        raise ValueError(f"does not exist in time zone {tz.key} (DST gap): {_short(value)}")
    return utc


def to_optional_local_datetime(value: Any, tz: ZoneInfo) -> datetime | None:
    if is_blank(value) or value == ZERO_DATETIME:
        return None
    return local_to_utc(value, tz)


def unix_to_utc(value: Any) -> datetime | None:
    """Unix seconds -> UTC datetime; blank, 0 or out-of-range (TUNE's year-0 dates) -> None."""
    if is_blank(value):
        return None
    seconds = to_int(value)
    if seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _short(value: Any, limit: int = 60) -> str:
    """The value for a reason: repr, but a Decimal (a JSON number) as its digits, like a float."""
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
