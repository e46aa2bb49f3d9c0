"""Reading conversion pages in bulk (raw_rows.decode_page + parse_conversion_page) gives exactly what
the ordinary path gives (envelope.parse_body + the per-row parser): the same typed values, the same
rejections with the same reasons, the same errors; and the bulk path is really taken for the pages
TUNE and the sandbox send."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import requests

from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SandboxServer, SandboxWorld
from trackly_pipeline.tune import CONVERSION_FIELDS, TuneApiError, TuneResponseError
from trackly_pipeline.tune.envelope import RowTable, parse_body
from trackly_pipeline.tune.page_parser import parse_conversion_page
from trackly_pipeline.tune.raw_rows import decode_page, raw_schema

from .sandbox_support import everything, sandbox_client
from .test_page_parser import BASE_ROW, assert_same, hostile_rows, per_row

SCHEMA = raw_schema(CONVERSION_FIELDS)
ZONE = ZoneInfo("America/New_York")


def reply(rows, *, indent=None, data_first=False, token="secret-token") -> bytes:
    """A Report::getConversions reply as TUNE lays it out (request echo first, rows last)."""
    paging = {"page": 1, "current": 0, "count": len(rows), "pageCount": 1}
    data = {"data": rows, **paging} if data_first else {**paging, "data": rows}
    document = {
        "request": {
            "Target": "Report",
            "Method": "getConversions",
            "NetworkToken": token,
            "fields": list(CONVERSION_FIELDS),
            "filters": {"Stat.datetime": {"values": ["a", "b"]}},
        },
        "response": {"status": 1, "httpStatus": 200, "data": data, "errors": [], "errorMessage": None},
    }
    return json.dumps(document, indent=indent, separators=None if indent else (",", ":")).encode()


def bulk(body: bytes, zone: ZoneInfo = ZONE):
    data = decode_page(body, SCHEMA)
    return data, parse_conversion_page(data["data"], zone)


def assert_bulk_same(rows: list, zone: ZoneInfo = ZONE, *, body: bytes | None = None) -> bool:
    """Bulk decoding of the reply of `rows` equals the ordinary path (parse_body, then the per-row
    parser, on the same bytes); returns whether the bulk path was taken."""
    body = body or reply(rows)
    data, parsed = bulk(body, zone)
    ordinary = parse_body(body)
    sent = ordinary["data"]  # the rows as the ordinary path reads them (JSON numbers as Decimal)
    expected_table, expected_rejected = per_row(sent, zone)
    assert [(position, reason) for position, _, reason in parsed.rejected] == expected_rejected
    # The rejected rows as sent (compared as JSON text: NaN is not equal to itself).
    assert [json.dumps(row, default=repr) for _, row, _ in parsed.rejected] == [
        json.dumps(sent[position], default=repr) for position, _ in expected_rejected
    ]
    assert parsed.table.equals(expected_table)
    assert {k: v for k, v in data.items() if k != "data"} == {k: v for k, v in ordinary.items() if k != "data"}
    return isinstance(data["data"], RowTable)


def test_arrow_whitespace_is_pythons_for_every_code_point():
    """The bulk blank check (utf8_is_space) must agree with str.isspace(), which the per-row rules use."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    arrow = pc.utf8_is_space(pa.array(chars)).to_pylist()
    assert [c for c, blank in zip(chars, arrow) if blank != c.isspace()] == []
    assert sum(arrow) == sum(c.isspace() for c in chars) > 20


def test_sandbox_replies_are_read_in_bulk_and_equal_the_ordinary_path():
    """The reply bytes the sandbox serves over HTTP, recorded as the client reads them."""
    network = DEFAULT_NETWORKS[1]
    world = SandboxWorld.generate(seed=5, conversions_per_network=2000, networks=(network,))
    last = datetime.fromtimestamp(int(world.conversions(network.network_id).converted_at.max()), UTC)
    world.clock.set(last + timedelta(hours=1))
    bodies: list[bytes] = []

    class Recording(requests.Session):
        def get(self, *args, **kwargs):
            response = super().get(*args, **kwargs)
            if dict(kwargs["params"]).get("Method") == "getConversions":
                bodies.append(response.content)
            return response

    with SandboxServer(world, port=0, rate_limit=(10_000, 1.0)) as server:
        client = sandbox_client(server, world, network.network_id, rate_limit=(10_000, 1.0), session=Recording())
        batches = list(client.iter_conversion_batches(*everything(world), page_size=700))
    assert len(bodies) == len(batches) > 2
    zone = ZoneInfo(client.timezone)
    for body, batch in zip(bodies, batches):
        rows = parse_body(body)["data"]
        assert assert_bulk_same(rows, zone, body=body) is True
        assert len(rows) == len(batch.conversions)


@pytest.mark.slow  # every hostile row through both paths: seconds per zone
@pytest.mark.parametrize("zone_name", ["America/New_York", "Australia/Lord_Howe", "UTC"])
def test_each_hostile_row_gives_the_same_values_and_reasons_in_bulk(zone_name):
    """One hostile row among valid ones per page: whichever way the page is read, the outcome is the
    per-row parser's."""
    zone = ZoneInfo(zone_name)
    taken = []
    for row in hostile_rows():
        rows = [copy.deepcopy(BASE_ROW), row, copy.deepcopy(BASE_ROW)]
        taken.append(assert_bulk_same(rows, zone))
    assert any(taken) and not all(taken)  # clean pages go in bulk, odd shapes the ordinary way


@pytest.mark.parametrize(
    "zone_name, repeated",
    [
        ("America/New_York", "2026-11-01 01:00:00"),
        ("Australia/Lord_Howe", "2026-04-05 01:30:00"),
        ("Australia/Adelaide", "2026-04-05 02:00:00"),
    ],
)
def test_repeated_wall_times_read_in_bulk_as_the_later_instant(zone_name, repeated):
    """A fall-back's repeated wall times stay on the bulk path and read as the per-row parser reads
    them: the later of their two instants."""
    zone = ZoneInfo(zone_name)
    first = datetime.fromisoformat(repeated)
    rows = []
    for minutes in range(-10, 75, 5):
        row = copy.deepcopy(BASE_ROW)
        row["Stat"]["id"] = str(len(rows) + 1)
        row["Stat"]["datetime"] = (first + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(row)
    assert assert_bulk_same(rows, zone) is True
    _, parsed = bulk(reply(rows), zone)
    stored = parsed.table.column("converted_at").to_pylist()
    for row, instant in zip(rows, stored):
        naive = datetime.fromisoformat(row["Stat"]["datetime"])
        readings = {naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
        assert instant == max(readings)
    assert (
        sum(
            len({naive.replace(tzinfo=zone, fold=f).utcoffset() for f in (0, 1)}) == 2
            for naive in (datetime.fromisoformat(r["Stat"]["datetime"]) for r in rows)
        )
        >= 6
    )  # ambiguous ones


def test_the_whole_hostile_page_in_bulk():
    rows = hostile_rows()
    assert_same(rows, ZONE)
    assert assert_bulk_same(rows) is False  # numbers and odd shapes: Arrow refuses, the ordinary path reads it


@pytest.mark.parametrize(
    "value",
    ['},{"Stat":', '"},{"Stat":{"id":"9"}}', "}]", '\\"data\\":[{"', "line\nbreak", "\u2603 \U0001f600", "x" * 10_000],
)
def test_row_separators_and_brackets_inside_values_stay_values(value):
    rows = [copy.deepcopy(BASE_ROW) for _ in range(3)]
    rows[1]["Stat"]["affiliate_info2"] = value
    assert assert_bulk_same(rows) is True
    _, parsed = bulk(reply(rows))
    assert parsed.table.column("aff_sub2").to_pylist() == [None, value, None]


def test_other_layouts_fall_back_and_give_the_same_result():
    rows = [copy.deepcopy(BASE_ROW) for _ in range(3)]
    assert assert_bulk_same(rows, body=reply(rows, data_first=True)) is True
    assert assert_bulk_same(rows, body=reply(rows, indent=2)) is False  # whitespace between rows
    mobile_first = [{"ConversionsMobile": r["ConversionsMobile"], "Stat": r["Stat"]} for r in rows]
    assert assert_bulk_same(mobile_first) is True
    mixed = [rows[0], mobile_first[1], rows[2]]
    assert assert_bulk_same(mixed) is False
    numbers = copy.deepcopy(rows)
    numbers[1]["Stat"]["offer_id"] = 123  # a number where TUNE sends a string: per-row rules
    assert assert_bulk_same(numbers) is False


def test_a_row_bigger_than_a_parse_block_falls_back():
    rows = [copy.deepcopy(BASE_ROW) for _ in range(2)]
    rows[0]["Stat"]["affiliate_info3"] = "y" * (2 << 20)
    assert assert_bulk_same(rows) is False


def test_empty_pages():
    assert assert_bulk_same([]) is False  # "data":[] has no rows to read in bulk
    _, parsed = bulk(reply([]))
    assert parsed.table.num_rows == 0 and parsed.rejected == []


@pytest.mark.parametrize(
    "body",
    [
        reply([BASE_ROW] * 3)[:-40],  # truncated
        reply([BASE_ROW] * 3).replace(b'"status":"approved"', b'"status":approved', 1),  # broken row
        b"<html>502 Bad Gateway</html>",
        b'{"response":{"status":-1,"data":{"page":1,"pageCount":1,"count":1,"data":[{"Stat":{}}]},'
        b'"errors":[{"publicMessage":"No access to this report"}]}}',
        b'{"request":{},"response":{"status":1,"data":{"page":1,"pageCount":1,"count":1,"data":[{"Stat":{"id":"1"}}]}}',
    ],
)
def test_bad_replies_raise_exactly_what_the_ordinary_path_raises(body):
    with pytest.raises((TuneResponseError, TuneApiError)) as ordinary:
        parse_body(body)
    with pytest.raises(type(ordinary.value)) as in_bulk:
        decode_page(body, SCHEMA)
    assert str(in_bulk.value) == str(ordinary.value)
