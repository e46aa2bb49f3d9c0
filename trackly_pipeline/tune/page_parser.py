"""Columnar parsing of Report::getConversions pages: rows -> one Arrow table per page.

Same semantics as `models.parse_conversion_row`, at a fraction of the cost: each field becomes a
string column (from the Python rows in one pass, or read straight from the reply by
`raw_rows.decode_page`), and the columns are validated and typed in bulk with Arrow compute. The
bulk checks accept only the canonical shapes TUNE sends ("12.34000", "2026-03-08 01:59:59", "1");
a row with any value outside them (blank where required, whitespace, other number spellings, DST
gaps, wrong types, text with lone surrogates, ...) is handed to `parse_conversion_row`, so the
typed values and the rejection reasons are those of the per-row parser by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .conversion_schema import CONVERSION_SCHEMA, MONEY, UTC_TIME, conversions_table
from .envelope import RowTable
from .models import CONVERSION_STATUSES, Conversion, RejectedRow, RowError, parse_conversion_row
from .values import TUNE_DATETIME_FORMAT, is_unicode

# Stat fields in the order the columns are built; ConversionsMobile fields after them.
_STAT_KEYS = (
    "id",
    "tune_event_id",
    "ad_id",
    "datetime",
    "offer_id",
    "affiliate_id",
    "goal_id",
    "status",
    "status_code",
    "is_adjustment",
    "payout",
    "revenue",
    "sale_amount",
    "currency",
    "affiliate_info1",
    "affiliate_info2",
    "affiliate_info3",
    "affiliate_info4",
    "affiliate_info5",
    "source",
)
_MOBILE_KEYS = tuple(f"affiliate_unique{n}" for n in range(1, 6))
_STAT_GET = itemgetter(*_STAT_KEYS)
_MOBILE_GET = itemgetter(*_MOBILE_KEYS)
_EMPTY: dict = {}

# The canonical shapes accepted in bulk (RE2, ASCII digits only). Anything else goes per row.
_INT64_RE = r"^-?[0-9]{1,18}$"  # < 2**63 by length
_INT32_RE = r"^-?[0-9]{1,9}$"  # < 2**31 by length
_MONEY_RE = r"^-?[0-9]{1,12}(\.[0-9]{1,5})?$"  # |x| < 1e12 and at most 5 decimals: exact in DECIMAL(18, 5)
_CURRENCY_RE = r"^[A-Z]{3}$"
# Years 1900..2199, months 01-12, days 01-31, hours 00-23, minutes and seconds 00-59; impossible days
# (02-30, 04-31) are caught by comparing the parsed day with the written one.
_DATETIME_RE = r"^(19|2[01])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
_DATETIME_PLACEHOLDER = "2000-01-01 00:00:00"
_STATUSES = pa.array(sorted(CONVERSION_STATUSES))
_BOOLEAN_TEXTS = pa.array(["0", "1", ""])


@dataclass(frozen=True)
class ConversionPage:
    """One page of conversions as an Arrow table with CONVERSION_SCHEMA columns, in page order."""

    page: int
    page_count: int
    total_count: int
    table: pa.Table
    rejected: list[RejectedRow]

    @property
    def rows(self) -> int:
        return self.table.num_rows


@dataclass(frozen=True)
class ParsedRows:
    """`table`: the valid rows in page order; `rejected`: (position, row, reason) of the others."""

    table: pa.Table
    rejected: list[tuple[int, Any, str]]


class _Page:
    """Bulk checks of one page: `fallback` marks the rows the per-row parser must decide."""

    def __init__(self, size: int):
        self.size = size
        self.fallback = np.zeros(size, dtype=bool)

    def mark(self, bad: pa.Array, *, null_is_bad: bool = True) -> None:
        """Rows where `bad` is true (or null, unless told otherwise) go to the per-row parser."""
        self.fallback |= pc.fill_null(bad, null_is_bad).to_numpy(zero_copy_only=False)

    def strings(self, values: Sequence[Any]) -> pa.Array:
        """Python values -> a string array; None stays null, any other value (not a string, or a
        string UTF-8 cannot hold: a lone surrogate) is null and sent per row."""
        try:
            return pa.array(values, pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid, TypeError, UnicodeEncodeError):
            ok = np.fromiter(
                (v is None or (type(v) is str and is_unicode(v)) for v in values), dtype=bool, count=len(values)
            )
            self.fallback |= ~ok
            return pa.array([v if good else None for v, good in zip(values, ok.tolist())], pa.string())

    def text(self, array: pa.Array) -> pa.Array:
        """Optional text: "" and null -> null; whitespace-only strings are decided per row."""
        # utf8_is_space: non-empty and all Zs/WS/B/S characters, Python's str.isspace() definition.
        self.mark(pc.utf8_is_space(array), null_is_bad=False)
        return pc.if_else(pc.equal(array, ""), None, array)

    def matching(self, array: pa.Array, pattern: str, *, required: bool) -> pa.Array:
        """Strings of `pattern` stay; "" and null become null (a row needing a value goes per row);
        anything else is null and decided per row."""
        empty = pc.fill_null(pc.equal(array, ""), True)
        good = pc.fill_null(pc.match_substring_regex(array, pattern), False)
        self.mark(pc.invert(pc.or_(good, empty)) if not required else pc.invert(good))
        return pc.if_else(good, array, None)

    def integers(self, array: pa.Array, kind: pa.DataType, *, required: bool) -> pa.Array:
        pattern = _INT32_RE if kind == pa.int32() else _INT64_RE
        return pc.cast(self.matching(array, pattern, required=required), kind)

    def money(self, array: pa.Array, *, required: bool) -> pa.Array:
        return pc.cast(self.matching(array, _MONEY_RE, required=required), MONEY)

    def utc_times(self, array: pa.Array, zone: ZoneInfo) -> pa.Array:
        """Network-local "YYYY-MM-DD HH:MM:SS" -> UTC. Ambiguous (fall-back) times take the later
        instant, as `values.local_to_utc` does; times in a spring-forward gap are decided (rejected)
        per row."""
        local = self.matching(array, _DATETIME_RE, required=True)
        naive = pc.strptime(pc.fill_null(local, _DATETIME_PLACEHOLDER), format=TUNE_DATETIME_FORMAT, unit="s")
        written_day = pc.cast(pc.utf8_slice_codeunits(local, 8, 10), pa.int64())
        self.mark(pc.not_equal(pc.day(naive), written_day))  # 02-30 would roll over to 03-02
        instant = pc.assume_timezone(naive, timezone=zone.key, ambiguous="latest", nonexistent="earliest")
        other_end = pc.assume_timezone(naive, timezone=zone.key, ambiguous="latest", nonexistent="latest")
        self.mark(pc.not_equal(instant, other_end))  # differ only for times that do not exist
        return pc.cast(pc.cast(instant, pa.timestamp("s", tz="UTC")), UTC_TIME)

    def flags(self, array: pa.Array) -> pa.Array:
        """TUNE booleans "0"/"1" ("" and null are false); other spellings are decided per row."""
        self.mark(pc.invert(pc.or_(pc.is_null(array), pc.is_in(array, _BOOLEAN_TEXTS))))
        return pc.fill_null(pc.equal(array, "1"), False)

    def one_of(self, array: pa.Array, allowed: pa.Array) -> pa.Array:
        self.mark(pc.invert(pc.is_in(array, allowed)))
        return array


def _columns(models: list[dict], getter: itemgetter, keys: tuple[str, ...]) -> list[Sequence[Any]]:
    """Transpose the models into one sequence per key; missing keys read as None."""
    try:
        grid = np.array(list(map(getter, models)), dtype=object)
        if grid.shape == (len(models), len(keys)):
            return list(grid.T)
    except (KeyError, ValueError):
        pass  # a key is missing, or values numpy would read as nested sequences
    return [[model.get(key) for model in models] for key in keys]


def _models(rows: Sequence[Any], name: str, page: _Page | None) -> list[dict]:
    """`row[name]` per row; rows where it is not an object get {} (and go per row when `page`)."""
    try:
        models = [row[name] for row in rows]
    except (KeyError, TypeError):
        models = [row.get(name) if isinstance(row, dict) else None for row in rows]
    if set(map(type, models)) != {dict}:
        for position, model in enumerate(models):
            if type(model) is not dict:
                models[position] = _EMPTY
                if page is not None:
                    page.fallback[position] = True
    return models


def parse_conversion_rows(rows: Sequence[Any], zone: ZoneInfo) -> ParsedRows:
    """A page's rows -> the valid conversions as a CONVERSION_SCHEMA table (page order) and the
    rejected rows with `parse_conversion_row`'s reasons."""
    size = len(rows)
    if size == 0:
        return ParsedRows(CONVERSION_SCHEMA.empty_table(), [])
    page = _Page(size)
    stats = _models(rows, "Stat", page)
    mobiles = _models(rows, "ConversionsMobile", None)  # a missing ConversionsMobile reads as empty
    stat_columns = [page.strings(values) for values in _columns(stats, _STAT_GET, _STAT_KEYS)]
    mobile_columns = [page.strings(values) for values in _columns(mobiles, _MOBILE_GET, _MOBILE_KEYS)]
    table = _typed_table(page, stat_columns, mobile_columns, zone)
    if not page.fallback.any():
        return ParsedRows(table, [])
    return _with_fallback(rows, zone, table, page.fallback)


def parse_conversion_page(rows: Sequence[Any] | RowTable, zone: ZoneInfo) -> ParsedRows:
    """A page's rows, as Python objects or read in bulk, -> `parse_conversion_rows`'s result."""
    if isinstance(rows, RowTable):
        parsed = parse_raw_conversions(rows.table, zone)
        if parsed is not None:
            return parsed
        rows = rows.rows()  # some row needs a closer look: the per-row rules decide it
    return parse_conversion_rows(rows, zone)


def parse_raw_conversions(raw: pa.Table, zone: ZoneInfo) -> ParsedRows | None:
    """Rows read in bulk by `raw_rows.decode_page` (a "Stat" and a "ConversionsMobile" struct of
    strings, validated as UTF-8 there) -> the conversions as `parse_conversion_rows` gives them, or
    None when some row must be decided by the per-row rules (the caller then parses the page's rows)."""
    if raw.num_rows == 0:
        return ParsedRows(CONVERSION_SCHEMA.empty_table(), [])
    stat = raw.column("Stat").combine_chunks()
    if stat.null_count:
        return None
    mobile = raw.column("ConversionsMobile").combine_chunks()
    page = _Page(raw.num_rows)
    table = _typed_table(page, _fields(stat, _STAT_KEYS), _fields(mobile, _MOBILE_KEYS), zone)
    return None if page.fallback.any() else ParsedRows(table, [])


def _fields(struct: pa.StructArray, keys: tuple[str, ...]) -> list[pa.Array]:
    """The struct's fields in `keys` order. flatten() honours the struct's nulls: the fields of a
    null ConversionsMobile read null, as those of a missing one read empty in the per-row rules."""
    by_name = dict(zip((field.name for field in struct.type), struct.flatten()))
    return [by_name[key] for key in keys]


def _typed_table(
    page: _Page, stat_columns: Sequence[pa.Array], mobile_columns: Sequence[pa.Array], zone: ZoneInfo
) -> pa.Table:
    """String columns in _STAT_KEYS and _MOBILE_KEYS order -> a CONVERSION_SCHEMA table; rows
    outside the canonical shapes are marked on `page` for the per-row parser."""
    (
        conversion_id,
        tune_event_id,
        ad_id,
        converted_at,
        offer_id,
        affiliate_id,
        goal_id,
        status,
        status_code,
        is_adjustment,
        payout,
        revenue,
        sale_amount,
        currency,
        *stat_sub_ids,
    ) = stat_columns
    columns = [
        page.integers(conversion_id, pa.int64(), required=True),
        page.text(tune_event_id),
        page.utc_times(converted_at, zone),
        page.text(ad_id),
        page.integers(offer_id, pa.int64(), required=True),
        page.integers(affiliate_id, pa.int64(), required=False),
        page.integers(goal_id, pa.int64(), required=False),
        page.one_of(status, _STATUSES),
        page.integers(status_code, pa.int32(), required=False),
        page.flags(is_adjustment),
        page.money(payout, required=True),
        page.money(revenue, required=False),
        page.money(sale_amount, required=False),
        page.matching(currency, _CURRENCY_RE, required=False),
        *[page.text(values) for values in (*stat_sub_ids, *mobile_columns)],
    ]
    return pa.Table.from_arrays(columns, schema=CONVERSION_SCHEMA)


def _with_fallback(rows: Sequence[Any], zone: ZoneInfo, table: pa.Table, fallback: np.ndarray) -> ParsedRows:
    """Decide the marked rows with the per-row parser and merge the valid ones back in page order."""
    parsed: list[tuple[int, Conversion]] = []
    rejected: list[tuple[int, Any, str]] = []
    for position in np.flatnonzero(fallback).tolist():
        row = rows[position]
        try:
            parsed.append((position, parse_conversion_row(row, zone)))
        except RowError as exc:
            rejected.append((position, row, exc.reason))
    fast = table.filter(pa.array(~fallback))
    if not parsed:
        return ParsedRows(fast, rejected)
    positions = np.concatenate([np.flatnonzero(~fallback), np.array([p for p, _ in parsed], dtype=np.int64)])
    merged = pa.concat_tables([fast, conversions_table([c for _, c in parsed])])
    return ParsedRows(merged.take(pa.array(np.argsort(positions, kind="stable"))), rejected)


__all__ = ["ConversionPage", "ParsedRows", "parse_conversion_page", "parse_conversion_rows", "parse_raw_conversions"]
