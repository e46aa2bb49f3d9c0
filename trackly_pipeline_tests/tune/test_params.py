from decimal import Decimal

import pytest

from trackly_pipeline.tune import encode_params


def test_report_params_encode_as_php_brackets_in_insertion_order():
    pairs = encode_params(
        {
            "fields": ["Stat.id", "Stat.datetime"],
            "filters": {
                "Stat.datetime": {"conditional": "BETWEEN", "values": ["2024-05-01 00:00:00", "2024-05-01 23:59:59"]},
                "status": ["active", "paused"],
            },
            "sort": {"Stat.id": "asc", "Stat.datetime": "desc"},
            "contain": ["Advertiser"],
            "ids": [1, 2],
            "limit": 500,
            "page": 2,
        }
    )
    assert pairs == [
        ("fields[]", "Stat.id"),
        ("fields[]", "Stat.datetime"),
        ("filters[Stat.datetime][conditional]", "BETWEEN"),
        ("filters[Stat.datetime][values][]", "2024-05-01 00:00:00"),
        ("filters[Stat.datetime][values][]", "2024-05-01 23:59:59"),
        ("filters[status][]", "active"),
        ("filters[status][]", "paused"),
        ("sort[Stat.id]", "asc"),
        ("sort[Stat.datetime]", "desc"),
        ("contain[]", "Advertiser"),
        ("ids[]", "1"),
        ("ids[]", "2"),
        ("limit", "500"),
        ("page", "2"),
    ]


def test_scalars_booleans_decimals_and_none():
    assert encode_params({"a": True, "b": False, "c": Decimal("1.50"), "d": None, "e": "x"}) == [
        ("a", "1"),
        ("b", "0"),
        ("c", "1.50"),
        ("e", "x"),
    ]
    assert encode_params({"filters": {"id": {"GREATER_THAN": 25}}}) == [("filters[id][GREATER_THAN]", "25")]
    assert encode_params(None) == []


def test_unsupported_values_are_refused():
    with pytest.raises(TypeError):
        encode_params({"x": object()})
    with pytest.raises(TypeError):
        encode_params({"x": [{"nested": 1}]})
