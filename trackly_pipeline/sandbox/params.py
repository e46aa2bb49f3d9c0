"""Decoding PHP-style bracket parameters (`fields[]=a`, `filters[id][GREATER_THAN]=5`) into nested values.

The result mirrors what PHP builds from `$_REQUEST`, which is also what TUNE echoes back in the
`request` block: lists for `[]`, dicts for named keys, every leaf a string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

_SEGMENT = re.compile(r"\[([^\]]*)\]")
REDACTED = "*** hidden ***"
SECRET_PARAMS = ("NetworkToken", "api_key")


def _split_key(key: str) -> list[str]:
    """`filters[Stat.datetime][values][]` -> ["filters", "Stat.datetime", "values", ""]."""
    head, bracket, rest = key.partition("[")
    if not bracket or not head:
        return [key]
    segments = _SEGMENT.findall("[" + rest)
    return [head, *segments] if segments else [key]


def _child(container, segment: str, next_segment: str):
    """The container at `segment` inside `container`, created (list or dict) when missing."""
    fresh = [] if next_segment == "" else {}
    if isinstance(container, list):
        if segment == "":
            container.append(fresh)
            return fresh
        raise ValueError("named key inside a list")
    existing = container.get(segment)
    if existing is None or isinstance(existing, str):
        container[segment] = fresh
        return fresh
    return existing


def _assign(root: dict, path: list[str], value: str) -> None:
    node = root
    for position, segment in enumerate(path[:-1]):
        if isinstance(node, list) and segment != "":
            return  # PHP would mix list and map keys; such input is not worth modelling
        node = _child(node, segment, path[position + 1])
    last = path[-1]
    if isinstance(node, list):
        if last == "":
            node.append(value)
    elif last != "":
        node[last] = value


def decode_params(pairs: Iterable[tuple[str, str]]) -> dict:
    params: dict = {}
    for key, value in pairs:
        _assign(params, _split_key(key), value)
    return params


# Parameters TUNE reads as one value, and those it reads as a list of values (`fields[]=a&fields[]=b`).
SCALAR_PARAMS = (
    "NetworkId",
    "NetworkToken",
    "api_key",
    "Target",
    "Method",
    "Format",
    "Service",
    "Version",
    "limit",
    "page",
    "id",
    "start_date",
    "end_date",
    "totals",
)
LIST_PARAMS = ("fields", "contain", "groups", "ids")


def malformed_param(params: dict) -> str | None:
    """Why the decoded parameters cannot be a TUNE request (None when they can): a one-value
    parameter sent as a list or map (`NetworkId[]=x`), a list parameter holding lists or maps
    (`fields[][]=x`), a sort direction that is not one value. Filters are the handlers' to judge:
    TUNE itself reports bad ones (HTTP 200, status -1)."""
    for name in SCALAR_PARAMS:
        if name in params and not isinstance(params[name], str):
            return f"Invalid argument {name}: expected one value, got {_shape(params[name])}"
    for name in LIST_PARAMS:
        value = params.get(name)
        items = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
        if any(not isinstance(item, str) for item in items):
            return f"Invalid argument {name}: expected a list of values, got a nested {_shape(value)}"
    sort = params.get("sort")
    if isinstance(sort, dict) and any(not isinstance(direction, str) for direction in sort.values()):
        return "Invalid argument sort: expected sort[field]=asc|desc"
    return None


def _shape(value) -> str:
    return "a list" if isinstance(value, list) else "a map" if isinstance(value, dict) else type(value).__name__


def parse_query(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def redacted(params: dict) -> dict:
    """A copy safe to echo or log: credentials replaced the way TUNE's own SDK does."""
    return {k: (REDACTED if k in SECRET_PARAMS else v) for k, v in params.items()}


def as_list(value) -> list:
    """`x`, `[x, y]` and `{"0": x, "1": y}` all mean a list of values to a TUNE handler."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]
