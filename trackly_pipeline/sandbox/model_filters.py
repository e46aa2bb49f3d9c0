"""TUNE's `find*` filters over model rows (dicts): equality, IN lists, operators and OR groups."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .params import as_list
from .wire import ApiError

OPERATORS = (
    "NOT_EQUAL_TO",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL_TO",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL_TO",
    "LIKE",
    "NOT_LIKE",
    "NULL",
    "NOT_NULL",
    "TRUE",
    "FALSE",
)


def _number(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def compare_key(value):
    """Sort/compare key: numbers numerically, text as text, None before everything."""
    number = _number(value)
    if value is None:
        return (0, 0, "")
    if number is not None:
        return (1, number, "")
    return (2, 0, str(value))


def _equals(value, operand: str) -> bool:
    if value is None:
        return False
    a, b = _number(value), _number(operand)
    if a is not None and b is not None:
        return a == b
    return str(value) == operand


def like_pattern(pattern: str) -> re.Pattern:
    """SQL LIKE (% and _ wildcards), case-insensitive as MySQL's default collation is."""
    parts = (".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _operator(value, operator: str, operand: str) -> bool:
    if operator == "NOT_EQUAL_TO":
        return not _equals(value, operand)
    if operator in ("NULL", "NOT_NULL"):
        return (value is None or value == "") == (operator == "NULL")
    if operator in ("TRUE", "FALSE"):
        return (str(value) == "1") == (operator == "TRUE")
    if operator in ("LIKE", "NOT_LIKE"):
        hit = value is not None and like_pattern(operand).fullmatch(str(value)) is not None
        return hit == (operator == "LIKE")
    if value is None:
        return False
    left, right = compare_key(value), compare_key(operand)
    if left[0] != right[0]:
        left, right = (2, 0, str(value)), (2, 0, operand)
    return {
        "LESS_THAN": left < right,
        "LESS_THAN_OR_EQUAL_TO": left <= right,
        "GREATER_THAN": left > right,
        "GREATER_THAN_OR_EQUAL_TO": left >= right,
    }[operator]


def _condition_holds(row: dict, field: str, condition) -> bool:
    if field not in row:
        raise ApiError(f"Field {field} does not exist")
    value = row[field]
    if isinstance(condition, dict) and set(condition) & set(OPERATORS):
        return all(_operator(value, op, str(operand)) for op, operand in condition.items())
    return any(_equals(value, str(operand)) for operand in as_list(condition))


def row_matches(row: dict, filters: dict) -> bool:
    for field, condition in filters.items():
        if field == "OR":
            if not isinstance(condition, dict):
                raise ApiError("OR filter must name fields")
            if not any(_condition_holds(row, f, c) for f, c in condition.items()):
                return False
        elif not _condition_holds(row, field, condition):
            return False
    return True


def sort_rows(rows: list[dict], sort: dict) -> list[dict]:
    """Sort by several keys in the order given (stable sorts applied from the last key)."""
    for field, direction in reversed(list(sort.items())):
        if direction.lower() not in ("asc", "desc"):
            raise ApiError(f"Invalid sort direction {direction} for {field}")
        if rows and field not in rows[0]:
            raise ApiError(f"Field {field} does not exist")
        rows = sorted(rows, key=lambda r: compare_key(r.get(field)), reverse=direction.lower() == "desc")
    return rows
