"""A hostile or broken TUNE cannot hang, flood or crash a run (issue 15, item 3).

Over real sockets: replies dribbled a header line or a body byte at a time end at the client's
timeout, whole request; pages without end stop; replies beyond the size limit are refused unread;
JSON Python cannot hold (deep nesting, Infinity, NaN, numbers of thousands of digits) becomes the
client's own error or one quarantined row, never a traceback from `trackly`."""

from __future__ import annotations

import copy
import gzip
import os
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import yaml

from trackly_pipeline.cli import main as trackly_main
from trackly_pipeline.tune import (
    TuneConnectionError,
    TuneHttpError,
    TuneIncompleteSweepError,
    TuneReplyRefusedError,
    TuneResponseError,
    TuneTooManyPagesError,
)
from trackly_pipeline.tune.reply_size import REPLY_BASE_BYTES, REPLY_BYTES_PER_ROW

from .conftest import SECRET_TOKEN, Reply, envelope
from .raw_http import dribble, elapsed, raw_server
from .test_client_http import make_client, paginated
from .test_page_parser import BASE_ROW

# Time the client may take past its timeout: thread wake-ups, connection set-up, a tiny backoff.
MARGIN_S = 0.75
WINDOW = (datetime(2026, 10, 28, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC))


def head(*lines: str) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode() + b"\r\n"


# ---- one deadline per request, connect to last byte --------------------------------------------


def header_lines_every(seconds: float, lines: int = 40):
    """A server that sends its status line, then one header line every `seconds` (a 40-line head)."""

    def respond(query, conn, stopped):
        pieces = [b"HTTP/1.1 200 OK\r\n"] + [f"X-Pad-{n}: {'x' * 20}\r\n".encode() for n in range(lines)]
        dribble(conn, stopped, [*pieces, b"Content-Length: 2\r\n\r\n[]"], seconds)

    return respond


def body_bytes_every(seconds: float, body: bytes):
    def respond(query, conn, stopped):
        conn.sendall(
            head(
                "HTTP/1.1 200 OK", f"Content-Length: {len(body)}", "Content-Type: application/json", "Connection: close"
            )
        )
        dribble(conn, stopped, [body[i : i + 1] for i in range(len(body))], seconds)

    return respond


@pytest.mark.parametrize("retries", [0, pytest.param(2, marks=pytest.mark.slow)])  # 2: three 1 s timeouts
def test_header_lines_dribbled_end_at_the_timeout_per_attempt(retries):
    """Each header line came well inside the per-read timeout, so requests waited for all 40
    (8 s for a 1 s timeout). Now every attempt ends at its timeout."""
    with raw_server(header_lines_every(0.2)) as server:
        took, outcome = elapsed(
            lambda: make_client(server.url, timeout=1.0, max_retries=retries).call("Offer", "findAll")
        )
    assert isinstance(outcome, TuneConnectionError), outcome
    assert "timed out after 1s" in str(outcome)
    assert len(server.requests) == retries + 1
    assert took < (retries + 1) * (1.0 + MARGIN_S)
    assert SECRET_TOKEN not in str(outcome)


def test_body_bytes_dribbled_end_at_the_timeout():
    body = envelope({"Timezone": {"name": "UTC"}}).encode()
    with raw_server(body_bytes_every(0.05, body)) as server:
        took, outcome = elapsed(lambda: make_client(server.url, timeout=1.0, max_retries=0).call("Offer", "findAll"))
    assert isinstance(outcome, TuneConnectionError), outcome
    assert "timed out after 1s" in str(outcome)
    assert took < 1.0 + MARGIN_S


def test_connection_check_against_a_dribbling_server_is_unreachable_within_its_timeouts():
    """test_connection: two attempts of at most 10 s (its probe timeout) each; here 0.5 s each."""
    with raw_server(header_lines_every(0.1)) as server:
        took, check = elapsed(lambda: make_client(server.url, timeout=0.5).test_connection())
    assert (check.ok, check.outcome) == (False, "unreachable")
    assert took < 2 * (0.5 + MARGIN_S)


def test_a_reply_within_the_timeout_still_arrives():
    """The deadline cuts only what is late: a slowish reply inside it is read whole, every time
    (a timer left running would cut a later request)."""
    body = envelope("fine").encode()
    with raw_server(body_bytes_every(0.001, body)) as server:
        client = make_client(server.url, timeout=2.0, max_retries=0)
        assert [client.call("Offer", "findAll") for _ in range(3)] == ["fine"] * 3


# ---- pagination does not trust pageCount -------------------------------------------------------


def test_a_trillion_empty_pages_end_at_the_first(scripted_server):
    endless = paginated(1, 10**12, 0, [])
    server = scripted_server(*[endless] * 50, Reply("stop", 400))  # the old client asked for page after page
    pages = list(make_client(server.url).iter_pages("Report", "getConversions", {}, page_size=100))
    assert [(p.number, p.page_count, p.row_count) for p in pages] == [(1, 10**12, 0)]
    assert len(server.requests) == 1


def test_an_empty_page_before_the_count_is_met_is_an_incomplete_sweep(scripted_server):
    server = scripted_server(paginated(1, 10**12, 10**12, []), Reply("stop", 400))
    with pytest.raises(TuneIncompleteSweepError, match="said 1,000,000,000,000 rows match but returned 0"):
        list(make_client(server.url).iter_pages("Report", "getConversions", {}, page_size=100))
    assert len(server.requests) == 1


def test_pages_past_what_the_count_fills_are_not_asked_for(scripted_server):
    """count 3 at 2 rows a page fills 2 pages; one more is read (a row may arrive mid-sweep), no more."""

    def page(number):
        return paginated(number, 10**12, 3, [{"A": {"id": str(2 * number - 1)}}, {"A": {"id": str(2 * number)}}])

    server = scripted_server(*[page(n) for n in range(1, 51)], Reply("stop", 400))
    pages = list(make_client(server.url).iter_pages("A", "findAll", {}, page_size=2))
    assert [p.number for p in pages] == [1, 2, 3]
    assert len(server.requests) == 3


def test_a_network_that_serves_fewer_rows_than_asked_and_counts_its_pages_so_is_read_whole(scripted_server):
    """7 rows at 2 a page where 5 were asked: pageCount 4 is honest, so all four pages are read
    (the bound past `count` is in pages of the rows TUNE serves, not of the `limit` asked)."""
    ids = iter(range(1, 8))
    pages = [
        paginated(n, 4, 7, [{"A": {"id": str(next(ids))}} for _ in range(2 if n < 4 else 1)]) for n in (1, 2, 3, 4)
    ]
    server = scripted_server(*pages, Reply("stop", 400))
    read = list(make_client(server.url).iter_pages("A", "findAll", {}, page_size=5))
    assert [row["A"]["id"] for page in read for row in page.rows] == [str(n) for n in range(1, 8)]


def test_a_read_without_end_stops_at_the_page_cap_with_what_to_do(scripted_server):
    def page(number):
        return paginated(number, 10**12, 10**12, [{"A": {"id": str(number)}}])

    server = scripted_server(*[page(n) for n in range(1, 51)], Reply("stop", 400))
    client = make_client(server.url, max_pages=7)
    with pytest.raises(TuneTooManyPagesError) as caught:
        list(client.iter_pages("Report", "getConversions", {}, page_size=1, noun="conversions"))
    assert len(server.requests) == 7
    message = str(caught.value)
    assert message.startswith("TUNE Report::getConversions: stopped after 7 pages of 1 conversions, the cap")
    assert "pageCount 1,000,000,000,000" in message and "raise page_size" in message
    assert isinstance(caught.value, TuneResponseError)  # what callers already catch for a broken read


def test_the_default_page_cap_is_ten_thousand():
    assert make_client("http://127.0.0.1:9/Apiv3/json").max_pages == 10_000


# ---- reply size limit --------------------------------------------------------------------------


def padded_reply(size: int) -> bytes:
    """A valid envelope of about `size` bytes (the padding in a string the client never reads)."""
    return envelope({"pad": "x" * size, "page": 1, "pageCount": 1, "count": 0, "data": []}).encode()


LIMIT_FOR_ONE_ROW = REPLY_BASE_BYTES + REPLY_BYTES_PER_ROW


def serve_body(body: bytes, headers: tuple[str, ...]):
    def respond(query, conn, stopped):
        conn.sendall(head("HTTP/1.1 200 OK", "Content-Type: application/json", "Connection: close", *headers) + body)

    return respond


@pytest.mark.parametrize("framing", ["content-length", "read-to-close", "chunked", "gzip"])
def test_a_reply_over_the_limit_for_its_page_size_is_refused_once(framing):
    body = padded_reply(LIMIT_FOR_ONE_ROW + 1000)
    headers: tuple[str, ...] = ()
    if framing == "content-length":
        headers = (f"Content-Length: {len(body)}",)
    elif framing == "chunked":
        body = (
            b"".join(
                b"%x\r\n%s\r\n" % (len(body[i : i + 50_000]), body[i : i + 50_000]) for i in range(0, len(body), 50_000)
            )
            + b"0\r\n\r\n"
        )
        headers = ("Transfer-Encoding: chunked",)
    elif framing == "gzip":  # 1 MiB of padding gzips to a few KB: the limit counts what it decodes to
        body = gzip.compress(body)
        headers = (f"Content-Length: {len(body)}", "Content-Encoding: gzip")
    with raw_server(serve_body(body, headers)) as server:
        client = make_client(server.url, max_retries=3)
        with pytest.raises(TuneReplyRefusedError) as caught:
            list(client.iter_pages("Report", "getConversions", {}, page_size=1))
    assert len(server.requests) == 1  # not retried: the same reply would come again
    assert str(caught.value).startswith(
        f"TUNE Report::getConversions: reply refused: larger than {LIMIT_FOR_ONE_ROW:,} bytes"
    )


def test_a_reply_within_the_limit_for_its_page_size_is_read(scripted_server):
    server = scripted_server(padded_reply(LIMIT_FOR_ONE_ROW - 5000), padded_reply(LIMIT_FOR_ONE_ROW + 20_000))
    client = make_client(server.url)
    assert [p.number for p in client.iter_pages("A", "findAll", {}, page_size=1)] == [1]
    assert [p.number for p in client.iter_pages("A", "findAll", {}, page_size=3)] == [1]  # scaled to the page


def test_a_huge_content_length_is_refused_before_reading():
    def respond(query, conn, stopped):
        conn.sendall(head("HTTP/1.1 200 OK", "Content-Length: 300000000000"))
        stopped.wait(5)  # nothing follows: the client must not wait for it

    with raw_server(respond) as server:
        took, outcome = elapsed(lambda: make_client(server.url, timeout=3.0).call("Application", "getTimezone"))
    assert isinstance(outcome, TuneReplyRefusedError), outcome
    assert "Content-Length 300,000,000,000 bytes" in str(outcome)
    assert took < 1.0


# ---- JSON Python cannot hold -------------------------------------------------------------------


DEEP = "[" * 100_000 + "]" * 100_000
NOT_A_COUNT = [
    "Infinity",
    "-Infinity",
    "NaN",
    "1e400",
    "1e5000",
    "9" * 5000,
    "1e999999999",
    "-1e999999999",
]  # abs() of these overflows Decimal (review)


def test_deeply_nested_json_is_refused_not_a_recursion_error(scripted_server):
    server = scripted_server('{"response": {"status": 1, "data": ' + DEEP + "}}")
    with pytest.raises(TuneReplyRefusedError, match="nested deeper than 64 levels"):
        make_client(server.url).call("Application", "getTimezone")
    assert len(server.requests) == 1


def test_nesting_that_json_can_read_but_rows_cannot_be_walked_is_refused(scripted_server):
    """900 levels parse, but repr, redaction and the quarantine's JSON of such a row recurse too."""
    row = {"Stat": {"id": "1", "payout": "@deep@"}}
    server = scripted_server(paginated(1, 1, 1, [row]).replace('"@deep@"', "[" * 900 + "]" * 900))
    with pytest.raises(TuneReplyRefusedError):
        list(make_client(server.url).iter_conversion_batches(*WINDOW))


@pytest.mark.parametrize("member", ["pageCount", "count", "page"])
@pytest.mark.parametrize("value", NOT_A_COUNT)
def test_a_paging_member_that_is_no_count_is_a_malformed_reply(scripted_server, member, value):
    body = paginated(1, 1, 1, [{"A": {"id": "1"}}]).replace(f'"{member}": 1', f'"{member}": {value}', 1)
    assert value in body
    server = scripted_server(body)
    with pytest.raises(TuneResponseError, match=f"non-integer '{member}'") as caught:
        list(make_client(server.url, max_retries=1).iter_pages("A", "findAll", {}, page_size=5))
    assert SECRET_TOKEN not in str(caught.value)


@pytest.mark.parametrize("in_bulk", [False, True])
@pytest.mark.parametrize(
    "field, reason",
    [
        ("id", "Stat.id is out of range (5,000 digits)"),
        ("payout", "Stat.payout is out of range (|amount| >= 1e12)"),
        ("payout@1e999999999", "Stat.payout is out of range (|amount| >= 1e12)"),  # decimal.Overflow (review)
        ("offer_id", "Stat.offer_id is out of range (5,000 digits)"),
    ],
)
def test_a_5000_digit_number_quarantines_its_row_only(scripted_server, in_bulk, field, reason):
    """json.loads refused the whole page (Python's 4,300-digit limit), failing every sweep while
    the row was in the window; now the number stays text and only its row is rejected."""
    field, _, number = field.partition("@")
    number = number or "9" * 5000
    good = copy.deepcopy(BASE_ROW)
    huge = copy.deepcopy(BASE_ROW)
    huge["Stat"]["id"] = "7"
    huge["Stat"][field] = "@huge@"
    body = paginated(1, 1, 2, [good, huge]).replace('"@huge@"', number)
    server = scripted_server(body)
    client = make_client(server.url, timezone="UTC", max_retries=0)
    if in_bulk:
        (page,) = client.iter_conversion_tables(*WINDOW)
        kept, rejected = page.table.column("conversion_id").to_pylist(), page.rejected
    else:
        (batch,) = client.iter_conversion_batches(*WINDOW)
        kept, rejected = [c.conversion_id for c in batch.conversions], batch.rejected
    assert kept == [int(BASE_ROW["Stat"]["id"])]
    (row,) = rejected
    assert row.reason.startswith(reason)
    assert Decimal(str(row.raw["Stat"][field])) == Decimal(number)  # the number, kept (as text when too long)


def test_a_5000_digit_sub_id_is_stored_as_its_digits(scripted_server):
    row = copy.deepcopy(BASE_ROW)
    row["Stat"]["affiliate_info1"] = "@huge@"
    server = scripted_server(paginated(1, 1, 1, [row]).replace('"@huge@"', "9" * 5000))
    (page,) = make_client(server.url, timezone="UTC").iter_conversion_tables(*WINDOW)
    assert page.rejected == [] and page.table.column("aff_sub").to_pylist() == ["9" * 5000]


# ---- the `trackly` command: one line, never a traceback ----------------------------------------


def hostile_tune(conversions_reply: str):
    """A TUNE whose time zone is UTC and whose every other reply is `conversions_reply`."""

    def respond(query, conn, stopped):
        body = envelope("UTC") if query.get("Method") == "getTimezone" else conversions_reply
        payload = body.encode()
        conn.sendall(head("HTTP/1.1 200 OK", f"Content-Length: {len(payload)}", "Connection: close") + payload)

    return respond


@pytest.fixture
def trackly_yaml(tmp_path, monkeypatch):
    def write(api_url: str) -> None:
        for name in [*os.environ]:
            if name.startswith("TUNE_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("TUNE_ACME_TOKEN", SECRET_TOKEN)
        path = tmp_path / "trackly.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "warehouse": {"duckdb_path": "data/warehouse.duckdb"},
                    "trackly": {"clicks": "logs/clicks/*.parquet", "messages": "logs/messages/*.parquet"},
                    "postback_base_url": "https://app.example.com",
                    "networks": [
                        {
                            "key": "acme",
                            "network_id": "acmenet",
                            "network_token_env": "TUNE_ACME_TOKEN",
                            "api_url": api_url,
                            "base_url": "https://t.example.com",
                            "affiliate_id": 1001,
                            "max_retries": 1,
                            "backoff_base_s": 0.01,
                            "timeout_s": 5,
                        }
                    ],
                }
            )
        )
        monkeypatch.setenv("TRACKLY_CONFIG", str(path))

    return write


HOSTILE_REPLIES = {
    "deep": '{"response": {"status": 1, "data": ' + DEEP + "}}",
    **{
        f"count={value[:12]}": paginated(1, 1, 1, [{"Offer": {"id": "1"}}]).replace('"count": 1', f'"count": {value}')
        for value in NOT_A_COUNT
    },
    **{
        f"pageCount={value[:12]}": paginated(1, 1, 1, []).replace('"pageCount": 1', f'"pageCount": {value}')
        for value in NOT_A_COUNT
    },
}


@pytest.mark.parametrize("command", [["test-connection"], ["offers", "acme"]])
@pytest.mark.parametrize("reply", HOSTILE_REPLIES.values(), ids=HOSTILE_REPLIES.keys())
def test_trackly_commands_say_what_went_wrong_in_one_line(trackly_yaml, capsys, command, reply):
    with raw_server(hostile_tune(reply)) as server:
        trackly_yaml(server.url)
        code = trackly_main(command)
    out, err = capsys.readouterr()
    assert code == 1
    said = (out if command[0] == "test-connection" else err).strip()
    assert "\n" not in said and "Traceback" not in out + err
    assert said.startswith(
        "acme         FAIL error" if command[0] == "test-connection" else "trackly offers: acme: TUNE"
    )
    assert SECRET_TOKEN not in out + err


# ---- redirects -----------------------------------------------------------------------------------


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else(scripted_server):
    """requests followed a 302 to wherever it pointed, the query string and its token along, and
    logged the new address (review): now a redirect is an error that says what to set."""
    elsewhere = scripted_server(envelope("America/New_York"))
    server = scripted_server(Reply("", status=302, headers={"Location": f"{elsewhere.url}/moved/{SECRET_TOKEN}/json"}))
    with pytest.raises(TuneHttpError, match="redirect, which is not followed") as caught:
        _ = make_client(server.url, timezone=None, max_retries=2).timezone  # the property asks the API
    assert len(server.requests) == 1 and elsewhere.requests == []
    assert SECRET_TOKEN not in str(caught.value)
