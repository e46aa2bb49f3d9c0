"""PHP-style bracket encoding of nested parameters (what TUNE's PHP backend parses).

    {"fields": ["a", "b"]}                         -> fields[]=a, fields[]=b
    {"filters": {"status": ["active"]}}            -> filters[status][]=active
    {"filters": {"Stat.datetime": {"conditional": "BETWEEN", "values": [x, y]}}}
        -> filters[Stat.datetime][conditional]=BETWEEN, filters[Stat.datetime][values][]=x, ...[values][]=y
    {"sort": {"Stat.id": "asc"}}                   -> sort[Stat.id]=asc
    {"limit": 100}                                 -> limit=100

Order follows the mappings' insertion order, because TUNE applies several sort keys in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

Param = tuple[str, str]


def encode_params(params: Mapping[str, Any] | None) -> list[Param]:
    """Flatten nested mappings/lists into (key, value) pairs; ``None`` values are left out."""
    pairs: list[Param] = []
    for key, value in (params or {}).items():
        _encode(str(key), value, pairs)
    return pairs


def _encode(key: str, value: Any, pairs: list[Param]) -> None:
    if value is None:
        return  # like PHP's http_build_query: null means "not sent"
    if isinstance(value, Mapping):
        for sub_key, sub_value in value.items():
            _encode(f"{key}[{sub_key}]", sub_value, pairs)
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        for item in items:
            if isinstance(item, (Mapping, list, tuple)):
                raise TypeError(f"parameter {key!r}: nested containers inside lists are not supported")
            _encode(f"{key}[]", item, pairs)
    else:
        pairs.append((key, _scalar(key, value)))


def _scalar(key: str, value: Any) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "1" if value else "0"
    if isinstance(value, (str, int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise TypeError(f"parameter {key!r}: unsupported value type {type(value).__name__}")
