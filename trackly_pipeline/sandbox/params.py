"""Decoding PHP-style bracket parameters (`fields[]=a`, `filters[id][GREATER_THAN]=5`) into nested values.

The result mirrors what PHP builds from `$_REQUEST`, which is also what TUNE echoes back in the
`request` block: lists for `[]`, dicts for named keys, every leaf a string.
"""
from __future__ import annotations

import re
from typing import Iterable
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
