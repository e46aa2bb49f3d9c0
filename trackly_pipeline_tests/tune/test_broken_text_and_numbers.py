"""Broken text and JSON numbers in conversion replies, read both ways: in bulk (raw_rows.decode_page +
parse_conversion_page, what a sweep uses) and per row (envelope.parse_body + parse_conversion_row).

Text UTF-8 cannot hold (a lone ``\\ud800`` escape, or bytes that are not UTF-8, which the reply reader
turns into lone surrogates) rejects the row that holds it, with a reason, and the rest of the page is
kept; both paths agree on every value and every rejection. JSON numbers are read as exact Decimals,
so money sent as a number keeps every digit or is rejected, never rounded. Over HTTP, a whole sweep
with such rows is stored, and the rejected rows land in ops.quarantine."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trackly_pipeline.tune import TuneApiError, TuneResponseError
from trackly_pipeline.tune.conversion_schema import conversions_table
from trackly_pipeline.tune.envelope import RowTable, parse_body
from trackly_pipeline.tune.page_parser import parse_conversion_page
from trackly_pipeline.tune.raw_rows import decode_page
from trackly_pipeline.warehouse.conversions import ConversionSweep
from trackly_pipeline.warehouse.database import Warehouse, transaction

from .test_client_http import make_client
from .test_page_parser import BASE_ROW, per_row
from .test_raw_rows import SCHEMA, ZONE, assert_bulk_same, reply


def row_with(model: str, field: str, value, conversion_id: int = 2180) -> dict:
    row = copy.deepcopy(BASE_ROW)
    row["Stat"]["id"] = str(conversion_id)
    row[model][field] = value
    return row


def spliced(rows: list, pieces: dict[str, bytes]) -> bytes:
    """The reply of `rows` with each placeholder string (quotes included) replaced by raw bytes: a
    JSON number, or text with bytes that are not UTF-8."""
    body = reply(rows)
    for placeholder, raw in pieces.items():
        quoted = json.dumps(placeholder).encode()
        assert quoted in body, placeholder
        body = body.replace(quoted, raw)
    return body


# (model, field, value as JSON text) of broken text; each rejects its row.
LONE_SURROGATES = [
    ("Stat", "affiliate_info1", r'"abc\ud800"'),
    ("Stat", "ad_id", r'"\udc00"'),
    ("Stat", "tune_event_id", r'"\ude00\ud83d"'),  # a pair in the wrong order
    ("Stat", "source", r'"x\ud83d"'),  # a high surrogate at the end
    ("ConversionsMobile", "affiliate_unique3", r'"\udfff u3"'),
    ("Stat", "status", r'"approved\ud800"'),
    ("Stat", "currency", r'"US\ud800"'),
    ("Stat", "payout", r'"1\ud800"'),
    ("Stat", "id", r'"\ud800"'),
    ("Stat", "datetime", r'"2026-10-29 01:00:00\ud800"'),
]
INVALID_UTF8 = [
    ("Stat", "source", b'"sms\xff"'),  # a byte that is never UTF-8
    ("Stat", "affiliate_info2", b'"caf\xe9"'),  # Latin-1
    ("Stat", "affiliate_info3", b'"\xed\xa0\x80"'),  # a surrogate encoded as UTF-8 (CESU-8)
    ("Stat", "tune_event_id", b'"\xc0\xaf"'),  # overlong encoding of "/"
    ("Stat", "affiliate_info5", b'"\xe2\x82"'),  # a sequence cut short
    ("ConversionsMobile", "affiliate_unique1", b'"\x80"'),  # a continuation byte alone
    ("Stat", "payout", b'"1.5\xff"'),
]


def broken_text_page(model: str, field: str, raw: bytes) -> tuple[list, bytes]:
    rows = [copy.deepcopy(BASE_ROW), row_with(model, field, "@broken@"), row_with("Stat", "payout", "1.00000", 2181)]
    return rows, spliced(rows, {"@broken@": raw})


@pytest.mark.parametrize(
    "model,field,raw", LONE_SURROGATES + INVALID_UTF8, ids=[f"{f}={r!r}" for _, f, r in LONE_SURROGATES + INVALID_UTF8]
)
def test_broken_text_rejects_its_row_the_same_way_in_bulk_and_per_row(model, field, raw):
    raw = raw.encode() if isinstance(raw, str) else raw
    rows, body = broken_text_page(model, field, raw)
    assert assert_bulk_same(rows, body=body) is False  # Arrow refuses, or its UTF-8 validation does
    parsed = parse_conversion_page(decode_page(body, SCHEMA)["data"], ZONE)
    ((position, _, reason),) = parsed.rejected
    assert position == 1
    assert reason.startswith(f"{model}.{field} ")
    if field in ("payout", "id", "currency", "datetime"):
        assert "\\u" in reason or "\\x" in reason  # the value as its escape, never a lone surrogate
    else:
        assert "is not valid Unicode text: lone surrogate U+D" in reason
    if raw.startswith(b'"sms\xff'):
        assert "invalid UTF-8 byte 0xFF" in reason
    reason.encode("utf-8")  # storable as it is
    assert parsed.table.column("conversion_id").to_pylist() == [2179, 2181]


def test_every_broken_row_of_one_page_at_once():
    rows, pieces = [copy.deepcopy(BASE_ROW)], {}
    for n, (model, field, raw) in enumerate(LONE_SURROGATES + INVALID_UTF8):
        rows.append(row_with(model, field, f"@broken{n}@", 3000 + n))
        pieces[f"@broken{n}@"] = raw.encode() if isinstance(raw, str) else raw
        rows.append(row_with("Stat", "affiliate_info4", f"good {n} \u2603\U0001f600", 4000 + n))
    body = spliced(rows, pieces)
    assert assert_bulk_same(rows, body=body) is False
    expected_table, rejected = per_row(parse_body(body)["data"], ZONE)
    assert [position for position, _ in rejected] == list(range(1, len(rows), 2))
    assert expected_table.column("conversion_id").to_pylist() == [2179, *range(4000, 4000 + len(pieces))]


@pytest.mark.parametrize("raw,in_bulk", [(b'"ok \xff"', True), (rb'"ok \ud800"', False)])
def test_broken_text_in_a_field_we_do_not_read_keeps_the_row_both_ways(raw, in_bulk):
    rows = [copy.deepcopy(BASE_ROW), copy.deepcopy(BASE_ROW)]
    rows[1]["Stat"]["refer"] = "@broken@"  # not a requested field: neither path reads it
    rows[1]["Stat"]["@key@"] = "x"
    body = spliced(rows, {"@broken@": raw, "@key@": b'"k\xfe"'})
    # Arrow ignores fields it was not asked for (and refuses any lone escape wherever it is)
    assert assert_bulk_same(rows, body=body) is in_bulk
    _, rejected = per_row(parse_body(body)["data"], ZONE)
    assert rejected == []


def test_valid_surrogate_pairs_and_non_ascii_stay_in_bulk():
    rows = [copy.deepcopy(BASE_ROW), row_with("Stat", "affiliate_info1", "@pair@"), copy.deepcopy(BASE_ROW)]
    body = spliced(rows, {"@pair@": rb'"\ud83d\ude00 caf\u00e9 ' + "café".encode() + b'"'})
    assert assert_bulk_same(rows, body=body) is True
    parsed = per_row(parse_body(body)["data"], ZONE)[0]
    assert parsed.column("aff_sub").to_pylist()[1] == "\U0001f600 café café"


# (field, JSON number as sent, stored value or None when the row is rejected, and the reason's start)
JSON_NUMBERS = [
    ("payout", b"99999999999.99999", Decimal("99999999999.99999"), None),
    ("payout", b"-30.11", Decimal("-30.11"), None),
    ("payout", b"0.1", Decimal("0.1"), None),
    ("revenue", b"12", Decimal("12"), None),
    ("sale_amount", b"1e2", Decimal("100"), None),
    ("sale_amount", b"1.5E-3", Decimal("0.0015"), None),
    ("payout", b"0.123456", None, "Stat.payout has more than 5 decimal places: 0.123456"),
    ("revenue", b"99999999999.999999", None, "Stat.revenue has more than 5 decimal places: 99999999999.999999"),
    ("payout", b"1e400", None, "Stat.payout is out of range (|amount| >= 1e12): 1E+400"),
    ("payout", b"1000000000000", None, "Stat.payout is out of range (|amount| >= 1e12): 1000000000000"),
    ("id", b"2180", 2180, None),
    ("id", b"9223372036854775807", 9223372036854775807, None),
    ("id", b"9223372036854775808", None, "Stat.id is out of range for a 64-bit integer: 9223372036854775808"),
    ("id", b"2180.0", None, "Stat.id is not an integer: 2180.0"),
    ("status_code", b"2147483648", None, "Stat.status_code is out of range for a 32-bit integer: 2147483648"),
    ("is_adjustment", b"1", True, None),
    ("is_adjustment", b"1.0", None, "Stat.is_adjustment is not a boolean: 1.0"),
    ("affiliate_info1", b"12345", "12345", None),
    ("affiliate_info1", b"1.5", None, "Stat.affiliate_info1 is not text: 1.5"),
]
COLUMN = {"id": "conversion_id", "affiliate_info1": "aff_sub"}


@pytest.mark.parametrize(
    "field,number,stored,reason", JSON_NUMBERS, ids=[f"{f}={n.decode()}" for f, n, _, _ in JSON_NUMBERS]
)
def test_json_numbers_are_exact_both_ways(field, number, stored, reason):
    rows = [copy.deepcopy(BASE_ROW), row_with("Stat", field, "@number@", 2180), copy.deepcopy(BASE_ROW)]
    body = spliced(rows, {"@number@": number})
    assert assert_bulk_same(rows, body=body) is False  # a number where TUNE sends text: per-row rules
    expected, rejected = per_row(parse_body(body)["data"], ZONE)
    if reason is None:
        assert rejected == []
        assert expected.column(COLUMN.get(field, field)).to_pylist()[1] == stored
    else:
        assert rejected == [(1, reason)]


def test_a_sweep_with_broken_text_and_exact_numbers_is_stored_over_http(scripted_server, tmp_path):
    """The client's two sweeps (per row and in bulk) over one scripted reply: the same conversions and
    the same rejected rows; the bulk sweep stored with its quarantine in a real warehouse."""
    rows, pieces = [copy.deepcopy(BASE_ROW)], {}
    for n, (model, field, raw) in enumerate(LONE_SURROGATES + INVALID_UTF8):
        rows.append(row_with(model, field, f"@broken{n}@", 3000 + n))
        pieces[f"@broken{n}@"] = raw.encode() if isinstance(raw, str) else raw
    rows.append(row_with("Stat", "payout", "@exact@", 5000))
    pieces["@exact@"] = b"99999999999.99999"
    rows.append(row_with("Stat", "revenue", "@six@", 5001))
    pieces["@six@"] = b"0.123456"
    body = spliced(rows, pieces)
    server = scripted_server(body)
    client = make_client(server.url)
    start, end = datetime(2026, 10, 28, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)

    (batch,) = client.iter_conversion_batches(start, end)  # per row: no TuneResponseError for bad bytes
    (page,) = client.iter_conversion_tables(start, end)
    assert page.table.equals(conversions_table(batch.conversions))
    assert page.rejected == batch.rejected
    assert [c.conversion_id for c in batch.conversions] == [2179, 5000]
    assert batch.conversions[1].payout == Decimal("99999999999.99999")
    assert [r.conversion_id for r in batch.rejected] == [
        "\\ud800" if field == "id" else str(3000 + n) for n, (_, field, _) in enumerate(LONE_SURROGATES + INVALID_UTF8)
    ] + ["5001"]

    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        sweep = ConversionSweep(conn, "acme", "sync-1")
        sweep.add_table(page.table, page.rejected)
        with transaction(conn):
            stats = sweep.replace_window(start, end, datetime(2026, 10, 31, tzinfo=UTC))
        assert stats.rows == 2 and stats.quarantined == len(rows) - 2
        stored = conn.execute("SELECT conversion_id, payout FROM tune.conversions ORDER BY 1").fetchall()
        assert stored == [(2179, Decimal("-30.11000")), (5000, Decimal("99999999999.99999"))]
        quarantined = conn.execute(
            "SELECT record_id, reason, raw_json FROM ops.quarantine WHERE kind = 'conversion' ORDER BY record_id"
        ).fetchall()
    by_id = {record_id: (reason, json.loads(raw)) for record_id, reason, raw in quarantined}
    reason, raw = by_id["3010"]  # the first invalid UTF-8 case: "sms" + 0xFF in Stat.source
    assert reason.startswith("Stat.source is not valid Unicode text: lone surrogate U+DCFF")
    assert raw["Stat"]["source"] == "sms\\udcff"  # the row as received, the bad byte as its escape
    assert by_id["3000"][1]["Stat"]["affiliate_info1"] == "abc\\ud800"
    assert by_id["5001"][0] == "Stat.revenue has more than 5 decimal places: 0.123456"


def test_a_reply_that_is_not_json_is_still_a_malformed_reply():
    body = reply([BASE_ROW])
    for broken in (body[:-40], body.replace(b'"approved"', b'"approved', 1), b"\xff\xfe<html>"):
        with pytest.raises(TuneResponseError):
            parse_body(broken)
        with pytest.raises(TuneResponseError):
            decode_page(broken, SCHEMA)


def test_the_bulk_table_never_holds_invalid_utf8():
    """What the reviewer saw: Arrow's reader passes raw bytes through; the bulk path must not."""
    _rows, body = broken_text_page("Stat", "source", b'"sms\xff"')
    data = decode_page(body, SCHEMA)
    assert not isinstance(data["data"], RowTable)  # read the ordinary way, its rows checked one by one


@pytest.mark.parametrize("raw", [b'"No access to this report \xff"', rb'"No access \ud800"'])
def test_an_error_message_with_broken_text_can_be_logged_and_stored(raw):
    """TUNE's failure messages end up in logs and ops.sync_log: broken text comes as its escape."""
    body = (
        b'{"request":{},"response":{"status":-1,"data":"","errors":[{"publicMessage":'
        + raw
        + b'}],"errorMessage":'
        + raw
        + b"}}"
    )
    with pytest.raises(TuneApiError) as failure:
        parse_body(body)
    message = str(failure.value)
    message.encode("utf-8")
    assert message.startswith("No access") and message.count("No access") == 1
    assert "\\udcff" in message or "\\ud800" in message
