"""The columnar path (iter_conversion_tables / parse_conversion_rows) equals the per-row path
(iter_conversion_batches / parse_conversion_row): the same typed values in the same order and the
same rejections with the same reasons, over sandbox pages and over hostile rows built here."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from trackly_pipeline.sandbox import DEFAULT_NETWORKS, FaultRule, SandboxServer, SandboxWorld
from trackly_pipeline.tune import CONVERSION_SCHEMA, RowError, parse_conversion_row, parse_conversion_rows
from trackly_pipeline.tune.conversion_schema import conversions_table
from trackly_pipeline.warehouse.conversions import STAGE_SCHEMA

from .sandbox_support import everything, sandbox_client

ZONES = ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe", "Australia/Adelaide", "UTC")

BASE_ROW = {
    "Stat": {
        "id": "2179",
        "tune_event_id": "b21cb120884229aedfabcf0d17394f71",
        "ad_id": "ffb0d05bce5c01b719287c945493c0",
        "datetime": "2026-10-29 01:00:00",
        "offer_id": "123",
        "affiliate_id": "1001",
        "goal_id": "0",
        "status": "approved",
        "status_code": "52",
        "is_adjustment": "0",
        "payout": "-30.11000",
        "revenue": "-37.64000",
        "sale_amount": "0.00000",
        "currency": "EUR",
        "affiliate_info1": "abc12345",
        "affiliate_info2": "",
        "affiliate_info3": "",
        "affiliate_info4": "promo",
        "affiliate_info5": "",
        "source": "sms",
    },
    "ConversionsMobile": {f"affiliate_unique{n}": "" for n in range(1, 6)},
}

NUMBERS = [
    None,
    "",
    " ",
    "\u3000",
    " 5",
    "5 ",
    "+5",
    "-5",
    "-0",
    "007",
    "5.",
    ".5",
    "1e3",
    "1E3",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "1_000",
    "12,50",
    "abc",
    "\u0661\u0662",
    5,
    -5,
    0,
    1.5,
    float("nan"),
    True,
    False,
    [],
    {},
    ["1"],
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "2147483647",
    "2147483648",
    "999999999999.99999",
    "1000000000000",
    "99999999999999",
    "1e400",
    "1.123456",
    "1.100000",
    "0.00001",
    "-0.000001",
    "123456789012345678901",
]
DATETIMES = [
    None,
    "",
    " ",
    "2026-03-08 02:30:00",
    "2026-11-01 01:30:00",
    "2026-03-29 02:30:00",
    "2026-10-25 02:30:00",
    "2026-04-05 02:15:00",
    "2026-10-04 02:15:00",
    "2026-02-30 00:00:00",
    "2026-02-29 00:00:00",
    "2028-02-29 12:00:00",
    "2026-1-5 01:00:00",
    " 2026-01-05 01:00:00 ",
    "2026-01-05T01:00:00",
    "2026-01-05 01:00",
    "0000-00-00 00:00:00",
    "1899-12-31 23:00:00",
    "1900-01-01 00:00:00",
    "2199-12-31 23:59:59",
    "2026-01-01 24:00:00",
    "2026-01-01 23:59:60",
    "2026-13-01 00:00:00",
    "2026-00-10 00:00:00",
    "2026-01-05 01:00:00.5",
    "not a date",
    1767225600,
]
TEXTS = [
    None,
    "",
    " ",
    "\t\n",
    "\u3000",
    "\x1c",
    "\u200b",
    " a ",
    "a b",
    'O\'Brien "q" ; --',
    "\u2603\U0001f600",
    "x" * 10_000,
    5,
    0,
    -1,
    1.5,
    True,
    [],
    {"a": 1},
]
STATUSES = [None, "", "approved", "pending", "rejected", "Approved", " approved", "approved ", "weird", 1, True]
FLAGS = [None, "", "0", "1", " 1 ", "true", "TRUE", "False", "2", "-1", 0, 1, 2, True, False, 1.0, []]
CURRENCIES = [None, "", " ", "USD", "usd", "USD ", " USD", "US", "USDX", "\u00dcSD", "XXQ1", 840, True]

FIELD_VALUES = {
    **dict.fromkeys(
        ("id", "offer_id", "affiliate_id", "goal_id", "status_code", "payout", "revenue", "sale_amount"), NUMBERS
    ),
    "datetime": DATETIMES,
    **dict.fromkeys(("tune_event_id", "ad_id", "affiliate_info1", "affiliate_info5", "source"), TEXTS),
    "status": STATUSES,
    "is_adjustment": FLAGS,
    "currency": CURRENCIES,
}


def hostile_rows() -> list:
    """The base row with one field changed at a time, plus rows of odd shapes; valid rows between."""
    rows: list = []
    for name, candidates in FIELD_VALUES.items():
        for value in candidates:
            row = copy.deepcopy(BASE_ROW)
            row["Stat"][name] = value
            rows.append(row)
            rows.append(copy.deepcopy(BASE_ROW))
        missing = copy.deepcopy(BASE_ROW)
        del missing["Stat"][name]
        rows.append(missing)
    for n in range(1, 6):
        for value in TEXTS:
            row = copy.deepcopy(BASE_ROW)
            row["ConversionsMobile"][f"affiliate_unique{n}"] = value
            rows.append(row)
    odd = [
        {},
        {"Stat": None},
        {"Stat": "x"},
        {"Stat": []},
        {"Stat": {}},
        {"Conversion": copy.deepcopy(BASE_ROW["Stat"])},  # Conversion::findAll shape
        {"Stat": copy.deepcopy(BASE_ROW["Stat"])},  # no ConversionsMobile
        {**copy.deepcopy(BASE_ROW), "ConversionsMobile": []},
        {**copy.deepcopy(BASE_ROW), "ConversionsMobile": None},
        {**copy.deepcopy(BASE_ROW), "ConversionsMobile": {"affiliate_unique1": "only one"}},
        {**copy.deepcopy(BASE_ROW), "Offer": {"name": "extra model"}},
        "not a row",
        None,
        ["Stat"],
    ]
    rows.extend(odd)
    rows.append(copy.deepcopy(BASE_ROW))
    return rows


def per_row(rows: list, zone: ZoneInfo) -> tuple[pa.Table, list[tuple[int, str]]]:
    conversions, rejected = [], []
    for position, row in enumerate(rows):
        try:
            conversions.append(parse_conversion_row(row, zone))
        except RowError as exc:
            rejected.append((position, exc.reason))
    return conversions_table(conversions), rejected


def assert_same(rows: list, zone: ZoneInfo) -> None:
    expected_table, expected_rejected = per_row(rows, zone)
    parsed = parse_conversion_rows(rows, zone)
    assert [(position, reason) for position, _, reason in parsed.rejected] == expected_rejected
    assert all(rows[position] is row for position, row, _ in parsed.rejected)
    assert parsed.table.schema == CONVERSION_SCHEMA
    assert parsed.table.to_pylist() == expected_table.to_pylist()  # typed values: Decimal, datetime, int
    assert parsed.table.equals(expected_table)


def test_schema_is_owned_by_tune_and_staged_by_the_warehouse():
    assert STAGE_SCHEMA.equals(CONVERSION_SCHEMA)
    assert "seq" not in CONVERSION_SCHEMA.names


@pytest.mark.parametrize("zone_name", ZONES)
def test_hostile_rows_give_the_same_values_and_reasons(zone_name):
    rows = hostile_rows()
    assert_same(rows, ZoneInfo(zone_name))


@pytest.mark.parametrize("zone_name", ZONES)
def test_every_quarter_hour_around_dst_changes(zone_name):
    """Gaps (rejected), repeated hours (first occurrence) and their edges, second by second near them."""
    zone = ZoneInfo(zone_name)
    rows = []
    for day in ("2026-03-08", "2026-03-29", "2026-04-05", "2026-10-04", "2026-10-25", "2026-11-01", "2026-06-15"):
        start = datetime.fromisoformat(day)
        for minutes in range(0, 24 * 60, 15):
            moment = start + timedelta(minutes=minutes)
            for seconds in (0, 1, 59) if moment.minute in (0, 30) else (0,):
                row = copy.deepcopy(BASE_ROW)
                row["Stat"]["datetime"] = (moment + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
                row["Stat"]["id"] = str(len(rows) + 1)
                rows.append(row)
            row = copy.deepcopy(BASE_ROW)
            row["Stat"]["datetime"] = (moment - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
            rows.append(row)
    assert_same(rows, zone)


def test_empty_page():
    parsed = parse_conversion_rows([], ZoneInfo("UTC"))
    assert parsed.table.num_rows == 0 and parsed.table.schema == CONVERSION_SCHEMA and parsed.rejected == []


@pytest.mark.slow  # a 3,000-conversion world swept both ways
def test_sandbox_sweep_with_hostile_rows_on_every_page_is_identical_both_ways():
    networks = DEFAULT_NETWORKS
    world = SandboxWorld.generate(seed=11, conversions_per_network=3000, networks=networks)
    last = max(datetime.fromtimestamp(int(world.conversions(n.network_id).converted_at.max()), UTC) for n in networks)
    world.clock.set(last + timedelta(hours=1))
    start, end = everything(world)
    with SandboxServer(world, port=0, rate_limit=(10_000, 1.0)) as server:
        server.add_fault(FaultRule("hostile_rows", times=None))
        for network in networks:
            client = sandbox_client(server, world, network.network_id, rate_limit=(10_000, 1.0))
            batches = list(client.iter_conversion_batches(start, end, page_size=700))
            tables = list(client.iter_conversion_tables(start, end, page_size=700))
            assert len(batches) == len(tables) > 1
            for batch, page in zip(batches, tables):
                assert (page.page, page.page_count, page.total_count) == (
                    batch.page,
                    batch.page_count,
                    batch.total_count,
                )
                assert page.table.equals(conversions_table(batch.conversions))
                assert page.rejected == batch.rejected
                assert page.rejected, "the hostile rows must include rejected ones"
            assert sum(page.rows for page in tables) == sum(len(b.conversions) for b in batches) > 3000
