"""Fuzz: whatever a server answers (status, headers, body, framing, a reply that stalls), every read
of the TUNE client returns or raises one of its own errors (TuneError), within its deadline, and
never with the token in the error or the log. Replies come over a real local socket.

Sized for CI: FUZZ_EXAMPLES examples take about 10 s (most replies are instant; the stalled ones
cost the client's 0.3 s timeout per attempt)."""

from __future__ import annotations

import copy
import gzip
import json
import logging
import os
import threading
import time
import zlib
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackly_pipeline.tune import TuneClient, TuneError

from .conftest import SECRET_TOKEN
from .raw_http import raw_server
from .test_page_parser import BASE_ROW

# CI runs the same 150 examples every time; TRACKLY_FUZZ_EXAMPLES=5000 explores new ones locally.
FUZZ_EXAMPLES = int(os.environ.get("TRACKLY_FUZZ_EXAMPLES", 150))
TIMEOUT_S = 0.3
RETRIES = 1
MAX_PAGES = 4
WINDOW = (datetime(2026, 10, 28, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC))

# ---- replies -----------------------------------------------------------------------------------

token_text = st.sampled_from([SECRET_TOKEN, f"NetworkToken={SECRET_TOKEN}", "x", "", "UTC", "Europe/Prague"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    token_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8) | token_text, inner, max_size=4)
    ),
    max_leaves=12,
)
# Raw JSON text for a paging member, including what Python's json reads as inf/nan or refuses.
paging_numbers = st.one_of(
    st.integers(min_value=-3, max_value=6).map(str),
    st.sampled_from(
        [
            "1000000000000",
            "Infinity",
            "-Infinity",
            "NaN",
            "1e400",
            "1e5000",
            "9" * 5000,
            "2.5",
            '"3"',
            '"x"',
            "null",
            "true",
            "[]",
        ]
    ),
)


def stat_row() -> st.SearchStrategy[dict]:
    def mutate(row: dict, field: str, value: object) -> dict:
        row = copy.deepcopy(row)
        row["Stat"][field] = value
        return row

    return st.one_of(
        st.just(copy.deepcopy(BASE_ROW)),
        st.builds(mutate, st.just(BASE_ROW), st.sampled_from(sorted(BASE_ROW["Stat"])), json_values),
    )


@st.composite
def paginated_bodies(draw) -> bytes:
    rows = draw(st.lists(stat_row(), max_size=3))
    data = {"page": "@page@", "current": 0, "count": "@count@", "pageCount": "@pageCount@", "data": rows}
    text = json.dumps(
        {
            "request": {"NetworkToken": SECRET_TOKEN},
            "response": {
                "status": draw(st.sampled_from([1, 1, 1, -1, "1", None])),
                "data": data,
                "errors": draw(st.sampled_from([[], [{"publicMessage": f"bad {SECRET_TOKEN}"}]])),
                "errorMessage": draw(st.one_of(st.none(), token_text)),
            },
        }
    )
    for member in ("page", "count", "pageCount"):
        text = text.replace(f'"@{member}@"', draw(paging_numbers))
    return text.encode()


@st.composite
def envelope_bodies(draw) -> bytes:
    document = {
        "request": {"NetworkToken": SECRET_TOKEN},
        "response": {
            "status": draw(st.sampled_from([1, -1, 0])),
            "data": draw(json_values),
            "errorMessage": draw(token_text),
        },
    }
    return json.dumps(document).encode()


deep = st.integers(min_value=1, max_value=5).map(
    lambda n: b'{"response": {"status": 1, "data": ' + b"[" * 10**n + b"]" * 10**n + b"}}"
)
bodies = st.one_of(
    paginated_bodies(),
    envelope_bodies(),
    deep,
    st.binary(max_size=64),
    token_text.map(str.encode),
    st.just(b'{"response": {"status": 1, "data": "' + b"x" * (3 << 20) + b'"}}'),  # over any call's limit
)


@st.composite
def replies(draw) -> dict:
    body = draw(bodies)
    encoding = draw(st.sampled_from([None, None, None, "gzip", "deflate", "bogus"]))
    if encoding == "gzip":
        body = gzip.compress(body)
    elif encoding == "deflate":
        body = zlib.compress(body)
    headers = []
    length = draw(st.sampled_from(["exact", "exact", "none", "short", "long", "junk", "chunked", "chunked-junk"]))
    if length in ("exact", "short", "long"):
        headers.append(f"Content-Length: {len(body) + {'exact': 0, 'short': -1, 'long': 10}[length]}")
    elif length == "junk":
        headers.append(
            f"Content-Length: {draw(st.sampled_from(['-1', 'abc', '1e9', '99999999999999999999999', SECRET_TOKEN]))}"
        )
    elif length.startswith("chunked"):
        headers.append("Transfer-Encoding: chunked")
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if length == "chunked" else b"zz\r\n" + body
    if encoding:
        headers.append(f"Content-Encoding: {encoding}")
    headers += draw(
        st.lists(
            st.sampled_from(
                [
                    # The token as a query parameter: urllib3 logs header lines that do not parse, and its log
                    # filter masks `NetworkToken=...`, not a bare token (left to the redaction work).
                    f"X-Echo: NetworkToken={SECRET_TOKEN}",
                    "Retry-After: 1",
                    "Retry-After: nan",
                    "Retry-After: 99999999999",
                    "Content-Type: text/html",
                    "Broken header line",
                    "Set-Cookie: a=b",
                ]
            ),
            max_size=3,
        )
    )
    status = draw(
        st.sampled_from(
            ["200 OK"] * 6
            + [
                "204 No Content",
                "301 Moved",
                "404 Not Found",
                "429 Too Many",
                "500 Oops",
                "503 Down",
                f"401 {SECRET_TOKEN}",
                "999 What",
                "abc",
            ]
        )
    )
    reply = f"HTTP/1.1 {status}\r\n".encode() + "".join(f"{h}\r\n" for h in headers).encode() + b"\r\n" + body
    stall_at = draw(st.one_of(st.none(), st.none(), st.none(), st.none(), st.integers(0, len(reply))))
    return {"reply": reply, "stall_at": stall_at}


# ---- the server and the reads ------------------------------------------------------------------


class Script:
    """What the server sends for the current example: the reply, or its first bytes then nothing."""

    reply: ClassVar[dict] = {"reply": b"", "stall_at": None}

    def respond(self, query, conn, stopped: threading.Event) -> None:
        reply, stall_at = self.reply["reply"], self.reply["stall_at"]
        if stall_at is None:
            conn.sendall(reply)
            return
        conn.sendall(reply[:stall_at])
        stopped.wait(2 * TIMEOUT_S * (RETRIES + 1))  # well past the client's deadline


READS = {
    "timezone": lambda client: client.get_timezone(),
    "offers": lambda client: client.read_offer_catalog(),
    "pages": lambda client: list(client.iter_pages("Offer", "findAll", {}, page_size=2)),
    "conversion tables": lambda client: list(client.iter_conversion_tables(*WINDOW, page_size=3)),
    "conversion batches": lambda client: list(client.iter_conversion_batches(*WINDOW, page_size=3)),
}


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def make_client(url: str, zone: str | None) -> TuneClient:
    return TuneClient(
        "demo",
        SECRET_TOKEN,
        url,
        timezone=zone,
        timeout=TIMEOUT_S,
        max_retries=RETRIES,
        backoff_base=0.001,
        backoff_max=0.002,
        rate_limit=(10**6, 1.0),
        rate_limit_retries=1,
        max_pages=MAX_PAGES,
        sleep=lambda seconds: None,
    )


def longest_allowed(read: str) -> float:
    """Every request of the read at its deadline, plus slack for threads and set-up."""
    requests = (RETRIES + 1) * (MAX_PAGES if read != "timezone" else 1) + (RETRIES + 1)  # + the zone
    return requests * TIMEOUT_S + 1.0


@pytest.mark.slow  # 150 hostile replies, some held open to the client's deadline
def test_any_reply_gives_a_result_or_a_tune_error_in_time_without_the_token():
    script = Script()
    log = Captured()  # every logger's records: urllib3's too
    logging.getLogger().addHandler(log)
    loggers = [logging.getLogger(name) for name in ("trackly_pipeline", "urllib3")]
    old_levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    examples = []

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize="TRACKLY_FUZZ_EXAMPLES" not in os.environ,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(reply=replies(), read=st.sampled_from([*READS, "connection check"]), zone=st.sampled_from(["UTC", None]))
    def check(reply, read, zone):
        script.reply = reply
        log.lines.clear()
        client = make_client(server.url, zone)
        started = time.monotonic()
        error = None
        if read == "connection check":
            outcome = client.test_connection()  # never raises
            texts = [outcome.message]
        else:
            try:
                READS[read](client)
            except TuneError as exc:
                error = exc  # anything else fails the test, with its traceback
            texts = [] if error is None else [str(error), repr(error), *map(str, error.args)]
        took = time.monotonic() - started
        examples.append(took)
        assert took < longest_allowed(read), (read, took)
        for text in texts + log.lines:
            assert SECRET_TOKEN not in text, text
        if error is not None:
            assert error.__cause__ is None and error.__context__ is None  # a traceback would print those

    try:
        with raw_server(script.respond) as server:
            check()
    finally:
        logging.getLogger().removeHandler(log)
        for logger, level in zip(loggers, old_levels):
            logger.setLevel(level)
    print(f"{len(examples)} examples, {sum(examples):.1f}s in the client, slowest {max(examples):.2f}s")
