"""Harmless spellings whose meaning is certain are read, not quarantined; ambiguous or lossy ones
still are. Checked per row and through `parse_conversion_page` over reply bytes (the bulk path a
sweep takes: a non-canonical value sends its row to the per-row rules, so both agree).

- Stat.status in another case or with surrounding whitespace ("Approved", " APPROVED ") is the
  lower-case status: TUNE documents approved | pending | rejected (tune-api.md 4.2), and no two of
  them differ by case alone.
- An amount with comma thousands separators, groups of exactly three digits and a decimal point
  ("1,025.00000") is that amount: no locale puts a decimal comma before a decimal point. "1,025"
  alone (1.025 where the comma is the decimal separator?) and "12,50" stay unreadable.
- An amount with a sixth decimal stays unreadable: DECIMAL(18, 5) would round it.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from trackly_pipeline.tune import RowError, parse_conversion_row, parse_offer_row
from trackly_pipeline.tune.models import conversion_id_of
from trackly_pipeline.tune.page_parser import parse_conversion_page, parse_raw_conversions
from trackly_pipeline.tune.raw_rows import decode_page

from .test_page_parser import BASE_ROW
from .test_raw_rows import SCHEMA, ZONE, assert_bulk_same, reply

READ = [
    ("status", "Approved", "status", "approved"),
    ("status", " APPROVED ", "status", "approved"),
    ("status", "Pending", "status", "pending"),
    ("status", "REJECTED\t", "status", "rejected"),
    ("payout", "1,025.00000", "payout", Decimal("1025.00000")),
    ("payout", "-1,025.5", "payout", Decimal("-1025.5")),
    ("revenue", "12,345,678.12345", "revenue", Decimal("12345678.12345")),
    ("sale_amount", " 999,999.00001 ", "sale_amount", Decimal("999999.00001")),
]
REJECTED = [
    ("status", "approve", "Stat.status is not approved/pending/rejected: 'approve'"),
    ("status", "Appr oved", "Stat.status is not approved/pending/rejected: 'Appr oved'"),
    ("payout", "1,025", "Stat.payout is not a number: '1,025'"),
    ("payout", "12,50", "Stat.payout is not a number: '12,50'"),
    ("payout", "1,02.50", "Stat.payout is not a number: '1,02.50'"),
    ("payout", "01,025.00", "Stat.payout is not a number: '01,025.00'"),
    ("payout", "1,0250.00", "Stat.payout is not a number: '1,0250.00'"),
    ("payout", "1.025,00", "Stat.payout is not a number: '1.025,00'"),
    ("payout", "1,025.000001", "Stat.payout has more than 5 decimal places: '1,025.000001'"),
    ("sale_amount", "10.123456", "Stat.sale_amount has more than 5 decimal places: '10.123456'"),
    ("payout", "\u0661,025.00", "Stat.payout is not a number"),  # digits other than ASCII
]


def row_with(field: str, value, conversion_id: int = 2180) -> dict:
    row = copy.deepcopy(BASE_ROW)
    row["Stat"]["id"] = str(conversion_id)
    row["Stat"][field] = value
    return row


@pytest.mark.parametrize("field,sent,column,read", READ, ids=[f"{f}={v!r}" for f, v, _, _ in READ])
def test_a_harmless_spelling_is_read_per_row_and_in_bulk(field, sent, column, read):
    conversion = parse_conversion_row(row_with(field, sent), ZONE)
    assert getattr(conversion, column) == read
    rows = [copy.deepcopy(BASE_ROW), row_with(field, sent)]
    assert assert_bulk_same(rows) is True  # read in bulk, and equal to the ordinary path
    data = decode_page(reply(rows), SCHEMA)["data"]
    assert parse_raw_conversions(data.table, ZONE) is None  # not TUNE's canonical shape: the per-row rules decide
    parsed = parse_conversion_page(data, ZONE)
    assert parsed.rejected == []
    assert parsed.table.column(column).to_pylist()[1] == read


@pytest.mark.parametrize("field,sent,reason", REJECTED, ids=[f"{f}={v!r}" for f, v, _ in REJECTED])
def test_an_ambiguous_or_lossy_spelling_is_still_rejected(field, sent, reason):
    with pytest.raises(RowError) as caught:
        parse_conversion_row(row_with(field, sent), ZONE)
    assert caught.value.reason.startswith(reason)
    rows = [copy.deepcopy(BASE_ROW), row_with(field, sent)]
    assert_bulk_same(rows)
    parsed = parse_conversion_page(decode_page(reply(rows), SCHEMA)["data"], ZONE)
    assert [(position, found) for position, _, found in parsed.rejected] == [(1, caught.value.reason)]


def test_an_offer_payout_with_thousands_separators_is_read():
    offer = parse_offer_row({"Offer": {"id": "5", "name": "X", "default_payout": "1,200.00000"}})
    assert offer.default_payout == Decimal("1200.00000")


@pytest.mark.parametrize(
    "raw,read",
    [
        ("2180", 2180),
        (" 2180 ", 2180),
        ("+7", 7),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", None),
        ("2180.0", None),
        ("abc", None),
        ("", None),
        (None, None),
        ("\\ud800", None),
    ],
)
def test_conversion_id_of_reads_ids_as_the_row_parser_does(raw, read):
    assert conversion_id_of(raw) == read
    if read is not None:
        assert parse_conversion_row(row_with("id", raw), ZONE).conversion_id == read
