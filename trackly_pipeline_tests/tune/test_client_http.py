"""TuneClient over real HTTP against a small scripted server on 127.0.0.1 (no sandbox needed)."""

from __future__ import annotations

import gzip
import json
import logging
import socket
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest

from trackly_pipeline.tune import (
    TuneApiError,
    TuneAuthError,
    TuneClient,
    TuneConnectionError,
    TuneHttpError,
    TuneIncompleteSweepError,
    TuneInvalidNetworkError,
    TuneRateLimitError,
    TuneResponseError,
)

from .conftest import SECRET_TOKEN, Reply, api_error, envelope, recorded_body

RATE_LIMITED = api_error("API usage exceeded rate limit.  Configured: 50/10s window; Your usage: 51.")


class RecordingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(url: str, **overrides) -> TuneClient:
    options = dict(
        timezone="America/New_York",
        backoff_base=0.001,
        backoff_max=0.01,
        max_retries=3,
        rate_limit=(100, 1.0),
        rate_limit_retries=2,
        timeout=2.0,
    )
    options.update(overrides)
    return TuneClient("demo", SECRET_TOKEN, url, **options)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/Apiv3/json"


def assert_token_free(*texts: str) -> None:
    for text in texts:
        assert SECRET_TOKEN not in text


def assert_no_chained_cause(error: BaseException) -> None:
    # tracebacks print chained exceptions; the original requests errors carry the full URL
    assert error.__cause__ is None and error.__context__ is None


def test_request_carries_credentials_target_method_and_bracket_params(scripted_server):
    server = scripted_server(envelope({"ok": True}))
    client = make_client(server.url)
    assert client.call("Offer", "findAll", {"filters": {"status": ["active"]}, "sort": {"id": "asc"}}) == {"ok": True}
    assert server.requests == [
        [
            ("NetworkId", "demo"),
            ("NetworkToken", SECRET_TOKEN),
            ("Target", "Offer"),
            ("Method", "findAll"),
            ("filters[status][]", "active"),
            ("sort[id]", "asc"),
        ]
    ]


def test_default_api_url_and_repr_hide_the_token():
    client = TuneClient("acme", SECRET_TOKEN)
    assert client.api_url == "https://acme.api.hasoffers.com/Apiv3/json"
    assert repr(client) == "TuneClient(network_id='acme', api_url='https://acme.api.hasoffers.com/Apiv3/json')"
    assert_token_free(repr(client), str(client))


def test_5xx_is_retried_with_a_redacted_warning(scripted_server, caplog):
    server = scripted_server(Reply("bad gateway", 502), Reply("oops", 500), envelope([1]))
    sleep = RecordingSleep()
    client = make_client(server.url, sleep=sleep, backoff_base=0.5, backoff_max=0.75)
    with caplog.at_level(logging.WARNING, logger="trackly_pipeline.tune"):
        assert client.call("Report", "getConversions", {"limit": 1}) == [1]
    assert len(server.requests) == 3
    assert len(sleep.calls) == 2
    assert 0 <= sleep.calls[0] <= 0.5 and 0 <= sleep.calls[1] <= 0.75  # full jitter, capped
    warnings = [r for r in caplog.records if r.name == "trackly_pipeline.tune"]
    assert [r.levelno for r in warnings] == [logging.WARNING, logging.WARNING]
    assert "HTTP 502" in warnings[0].getMessage() and "Report::getConversions" in warnings[0].getMessage()
    assert "NetworkToken=***" in warnings[0].getMessage()
    assert_token_free(caplog.text)


def test_persistent_5xx_fails_after_bounded_retries(scripted_server, caplog):
    server = scripted_server(Reply("down", 503))
    client = make_client(server.url, max_retries=2)
    with caplog.at_level(logging.DEBUG), pytest.raises(TuneHttpError) as caught:
        client.call("Offer", "findAll")
    assert len(server.requests) == 3
    assert caught.value.status_code == 503
    assert "TUNE Offer::findAll failed after 3 attempts: HTTP 503" in str(caught.value)
    assert "NetworkToken=***" in str(caught.value)
    assert_token_free(str(caught.value), caplog.text)
    assert_no_chained_cause(caught.value)


def test_a_status_line_quoting_the_token_is_masked_in_warnings_and_the_error(scripted_server, caplog):
    server = scripted_server(Reply("down", 502, reason=f"Bad Gateway for NetworkToken {SECRET_TOKEN}"))
    client = make_client(server.url, max_retries=1)
    with caplog.at_level(logging.DEBUG), pytest.raises(TuneHttpError) as caught:
        client.call("Offer", "findAll")
    assert "HTTP 502 Bad Gateway for NetworkToken ***" in str(caught.value) and "retry 1/1" in caplog.text
    assert_token_free(str(caught.value), caplog.text)


def test_4xx_fails_at_once(scripted_server):
    server = scripted_server(Reply("nope", 403), envelope([]))
    with pytest.raises(TuneHttpError, match="HTTP 403") as caught:
        make_client(server.url).call("Offer", "findAll")
    assert len(server.requests) == 1
    assert caught.value.status_code == 403


def test_malformed_json_once_is_retried(scripted_server):
    server = scripted_server(Reply('{"response": {"status": 1, "da'), envelope({"x": 1}))
    assert make_client(server.url).call("Offer", "findAll") == {"x": 1}
    assert len(server.requests) == 2


def test_persistent_malformed_json_is_a_response_error_without_the_token(scripted_server):
    truncated = json.dumps({"request": {"NetworkToken": SECRET_TOKEN}, "response": {"status": 1}})[:-5]
    server = scripted_server(Reply(truncated))
    with pytest.raises(TuneResponseError, match="malformed reply") as caught:
        make_client(server.url, max_retries=1).call("Offer", "findAll")
    assert len(server.requests) == 2
    assert_token_free(str(caught.value))


def test_rate_limit_waits_for_the_next_window_then_succeeds(scripted_server, caplog):
    server = scripted_server(RATE_LIMITED, envelope("done"))
    sleep = RecordingSleep()
    client = make_client(server.url, sleep=sleep, rate_limit=(5, 2.0))
    with caplog.at_level(logging.WARNING, logger="trackly_pipeline.tune"):
        assert client.call("Report", "getConversions") == "done"
    assert len(server.requests) == 2
    assert len(sleep.calls) == 1 and 2.0 <= sleep.calls[0] <= 2.2  # window + small jitter
    assert "rate limit" in caplog.text
    assert_token_free(caplog.text)


def test_persistent_rate_limit_gives_up_after_the_retry_budget(scripted_server):
    server = scripted_server(RATE_LIMITED)
    client = make_client(server.url, sleep=RecordingSleep(), rate_limit_retries=2)
    with pytest.raises(TuneRateLimitError, match="still rate limited after 2 waits"):
        client.call("Report", "getConversions")
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    "body, error",
    [
        (api_error("NetworkToken is not valid"), TuneAuthError),
        (recorded_body("23"), TuneInvalidNetworkError),
        (recorded_body("03"), TuneApiError),
    ],
)
def test_api_errors_fail_at_once_with_the_api_message(scripted_server, body, error):
    server = scripted_server(body, envelope([]))
    with pytest.raises(error) as caught:
        make_client(server.url).call("Offer", "addCategory")
    assert type(caught.value) is error
    assert len(server.requests) == 1
    assert str(caught.value).startswith("TUNE Offer::addCategory: ")
    assert_token_free(str(caught.value))


def http_date_in(seconds: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize(
    "retry_after, low, high",
    [
        ("3", 3.0, 3.0),  # delta-seconds, honoured as asked
        ("0.25", 0.25, 0.25),
        (None, 2.0, 2.2),  # none: the next window of our limiter, as for TUNE's own rate-limit error
        ("soon", 2.0, 2.2),  # not sane: likewise
        ("-5", 2.0, 2.2),
        ("nan", 2.0, 2.2),
        ("86400", 60.0, 60.0),  # capped
        ("HTTP-DATE+10", 8.0, 10.0),  # an HTTP date 10 s ahead (1 s resolution)
        ("HTTP-DATE-30", 0.0, 0.0),  # already passed: go at once
    ],
)
def test_http_429_waits_as_retry_after_asks_then_succeeds(scripted_server, caplog, retry_after, low, high):
    if retry_after and retry_after.startswith("HTTP-DATE"):
        retry_after = http_date_in(float(retry_after[len("HTTP-DATE") :]))
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    server = scripted_server(Reply("<html>Too Many Requests</html>", 429, headers=headers), envelope("done"))
    sleep = RecordingSleep()
    client = make_client(server.url, sleep=sleep, rate_limit=(5, 2.0))
    with caplog.at_level(logging.WARNING, logger="trackly_pipeline.tune"):
        assert client.call("Report", "getConversions") == "done"
    assert len(server.requests) == 2
    (waited,) = sleep.calls
    assert low <= waited <= high
    assert "rate limit" in caplog.text
    assert_token_free(caplog.text)


def test_persistent_http_429_gives_up_after_the_rate_limit_budget(scripted_server):
    server = scripted_server(Reply("slow down", 429, headers={"Retry-After": "1"}))
    sleep = RecordingSleep()
    client = make_client(server.url, sleep=sleep, rate_limit_retries=2, max_retries=5)
    with pytest.raises(TuneRateLimitError) as caught:
        client.call("Report", "getConversions")
    assert len(server.requests) == 3 and sleep.calls == [1.0, 1.0]  # the rate-limit budget, not max_retries
    message = str(caught.value)
    assert "TUNE Report::getConversions: still rate limited after 2 waits: HTTP 429 Too Many Requests" in message
    assert caught.value.retry_after == 1.0
    assert_token_free(str(caught.value))
    assert_no_chained_cause(caught.value)


def test_reply_that_does_not_decode_is_retried_as_broken_mid_reply(scripted_server, caplog):
    good = gzip.compress(envelope("unzipped").encode())
    broken = b"\x1f\x8b\x08\x00" + b"not really gzip" * 10
    server = scripted_server(
        Reply(broken, headers={"Content-Encoding": "gzip"}), Reply(good, headers={"Content-Encoding": "gzip"})
    )
    with caplog.at_level(logging.WARNING, logger="trackly_pipeline.tune"):
        assert make_client(server.url).call("Offer", "findAll") == "unzipped"
    assert len(server.requests) == 2
    assert "connection broken mid-reply" in caplog.text
    assert_token_free(caplog.text)


def test_slow_reply_beyond_the_timeout_is_retried(scripted_server):
    server = scripted_server(Reply(envelope("late"), delay=1.0), envelope("fast"))
    client = make_client(server.url, timeout=0.2)
    assert client.call("Offer", "findAll") == "fast"
    assert len(server.requests) == 2


def test_unreachable_host_raises_a_connection_error_without_the_token(caplog):
    client = make_client(closed_port_url(), max_retries=2)
    with caplog.at_level(logging.DEBUG), pytest.raises(TuneConnectionError) as caught:
        client.call("Application", "getTimezone")
    message = str(caught.value)
    assert "TUNE Application::getTimezone failed after 3 attempts: connection failed" in message
    assert_token_free(message, caplog.text)
    assert_no_chained_cause(caught.value)


def test_urllib3_debug_lines_are_redacted(scripted_server, caplog):
    server = scripted_server(envelope([]))
    with caplog.at_level(logging.DEBUG):
        make_client(server.url).call("Offer", "findAll")
    assert "GET /Apiv3/json?" in caplog.text  # urllib3 really logged the request line...
    assert_token_free(caplog.text)  # ...with the token masked


# ---- pagination ----------------------------------------------------------------------------


def paginated(page: int, page_count: int, count: int, rows: list) -> str:
    return envelope({"page": page, "current": 0, "count": count, "pageCount": page_count, "data": rows})


def test_iter_pages_reads_pages_1_to_page_count(scripted_server):
    server = scripted_server(
        paginated(1, 3, 5, [{"A": {"id": "1"}}, {"A": {"id": "2"}}]),
        paginated(2, 3, 5, {"3": {"A": {"id": "3"}}, "4": {"A": {"id": "4"}}}),
        paginated(3, 3, 5, [{"A": {"id": "5"}}]),
    )
    pages = list(make_client(server.url).iter_pages("A", "findAll", {"sort": {"id": "asc"}}, page_size=2))
    assert [(p.number, p.page_count, p.total_count) for p in pages] == [(1, 3, 5), (2, 3, 5), (3, 3, 5)]
    assert [row["A"]["id"] for p in pages for row in p.rows] == ["1", "2", "3", "4", "5"]
    assert [dict(q)["page"] for q in server.requests] == ["1", "2", "3"]
    assert all(dict(q)["limit"] == "2" for q in server.requests)


def test_iter_pages_with_no_rows_makes_one_request(scripted_server):
    server = scripted_server(recorded_body("13"))
    pages = list(make_client(server.url).iter_pages("Conversion", "findAll", {}))
    assert [(p.number, p.page_count, p.rows) for p in pages] == [(1, 0, [])]
    assert len(server.requests) == 1


def test_iter_pages_refuses_a_reply_for_another_page(scripted_server):
    server = scripted_server(paginated(1, 2, 2, [{"A": {}}]), paginated(1, 2, 2, [{"A": {}}]))
    with pytest.raises(TuneResponseError, match="asked for page 2, reply is page 1"):
        list(make_client(server.url).iter_pages("A", "findAll", {}, page_size=1))


def test_iter_pages_fails_when_count_falls_between_pages(scripted_server):
    """Row 2 left the result after page 1 was read: row 3 slid onto page 1 and is never sent, yet
    the rows received (2) equal the new count (2). Only the falling count tells."""
    server = scripted_server(
        paginated(1, 2, 3, [{"A": {"id": "1"}}, {"A": {"id": "2"}}]),
        paginated(2, 1, 2, []),
    )
    pages = make_client(server.url).iter_pages("A", "findAll", {}, page_size=2, noun="widgets")
    assert next(pages).number == 1
    with pytest.raises(TuneIncompleteSweepError, match="widgets matching fell from 3 to 2 between pages 1 and 2"):
        next(pages)


def test_iter_pages_without_the_count_check_reads_what_comes(scripted_server):
    server = scripted_server(paginated(1, 2, 5, [{"A": {"id": "1"}}]), paginated(2, 2, 4, [{"A": {"id": "2"}}]))
    pages = list(make_client(server.url).iter_pages("A", "findAll", {}, page_size=2, check_count=False))
    assert [row["A"]["id"] for page in pages for row in page.rows] == ["1", "2"]


# ---- typed reads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "Europe/Prague",
        {"Timezone": {"name": "Europe/Prague"}},
        {"Timezone": {"id": "71", "name": "(GMT+01:00) Prague", "zone": "Europe/Prague"}},
    ],
)
def test_get_timezone_accepts_plausible_shapes(scripted_server, data):
    server = scripted_server(envelope(data))
    assert make_client(server.url).get_timezone() == "Europe/Prague"


def test_timezone_is_asked_once_lazily(scripted_server):
    server = scripted_server(envelope({"Timezone": {"name": "Asia/Tokyo"}}))
    client = make_client(server.url, timezone=None)
    assert server.requests == []
    assert client.timezone == "Asia/Tokyo" and client.timezone == "Asia/Tokyo"
    assert len(server.requests) == 1


def test_conversion_window_is_sent_in_network_time_and_bad_rows_are_quarantined(scripted_server):
    good = {
        "Stat": {
            "id": "10",
            "datetime": "2024-03-09 23:59:59",
            "offer_id": "1",
            "status": "approved",
            "payout": "1.10",
            "currency": "USD",
        }
    }
    bad = {
        "Stat": {
            "id": "11",
            "datetime": "2024-03-10 00:00:00",
            "offer_id": "1",
            "status": "approved",
            "payout": "lots",
        },
        "ConversionsMobile": {"affiliate_unique1": SECRET_TOKEN},
    }
    server = scripted_server(paginated(1, 1, 2, [good, bad]))
    client = make_client(server.url)
    batches = list(
        client.iter_conversion_batches(
            datetime(2024, 3, 9, 5, tzinfo=UTC), datetime(2024, 3, 10, 5, tzinfo=UTC), page_size=50
        )
    )
    query = server.requests[0]
    assert [v for k, v in query if k == "filters[Stat.datetime][values][]"] == [
        "2024-03-09 00:00:00",
        "2024-03-09 23:59:59",
    ]  # EST = UTC-5, end exclusive
    assert ("filters[Stat.datetime][conditional]", "BETWEEN") in query
    assert ("sort[Stat.id]", "asc") in query and ("limit", "50") in query and ("page", "1") in query
    assert [v for k, v in query if k == "fields[]"][:3] == ["Stat.id", "Stat.tune_event_id", "Stat.ad_id"]
    (batch,) = batches
    assert (batch.page, batch.page_count, batch.total_count) == (1, 1, 2)
    assert [c.conversion_id for c in batch.conversions] == [10]
    assert batch.conversions[0].converted_at == datetime(2024, 3, 10, 4, 59, 59, tzinfo=UTC)
    assert batch.conversions[0].payout == Decimal("1.10")
    (rejected,) = batch.rejected
    assert rejected.conversion_id == "11" and rejected.reason.startswith("Stat.payout is not a number")
    assert rejected.raw["Stat"]["payout"] == "lots"
    assert_token_free(json.dumps(rejected.raw))


def test_window_bounds_with_microseconds_and_empty_windows(scripted_server):
    server = scripted_server(paginated(1, 0, 0, []))
    client = make_client(server.url, timezone="UTC")
    start = datetime(2024, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)
    end = datetime(2024, 1, 1, 1, 0, 0, 250_000, tzinfo=UTC)
    assert next(iter(client.iter_conversion_batches(start, end))).conversions == []
    assert [v for k, v in server.requests[0] if k.endswith("[values][]")] == [
        "2024-01-01 00:00:01",
        "2024-01-01 01:00:00",
    ]
    assert list(client.iter_conversion_batches(end, end)) == []
    assert len(server.requests) == 1
    with pytest.raises(ValueError):
        list(client.iter_conversion_batches(datetime(2024, 1, 1), datetime(2024, 1, 2)))


def test_find_offers_by_ids_and_all(scripted_server):
    row = {
        "Offer": {
            "id": "3",
            "name": "Půjčka",
            "status": "active",
            "currency": "CZK",
            "default_payout": "10.5",
            "expiration_date": "2030-01-01 00:00:00",
            "modified": 1700000000,
        },
        "Advertiser": {"id": "9", "company": "Acme"},
    }
    server = scripted_server(paginated(1, 1, 1, [row]))
    client = make_client(server.url, timezone="Europe/Prague")
    (offer,) = client.find_offers([3, 3])
    assert (offer.offer_id, offer.name, offer.advertiser_name) == (3, "Půjčka", "Acme")
    assert offer.expiration_date == datetime(2029, 12, 31, 23, tzinfo=UTC)
    query = server.requests[0]
    assert ("filters[id][]", "3") in query and ("contain[]", "Advertiser") in query and ("sort[id]", "asc") in query
    assert client.find_offers([]) == []
    assert len(server.requests) == 1


def test_offer_catalog_returns_unreadable_rows_with_their_reason(scripted_server):
    good = {"Offer": {"id": "3", "name": "Good", "status": "active", "modified": 1700000000}}
    bad = {"Offer": {"id": "three", "name": "Bad", "status": "active", "note": f"echo {SECRET_TOKEN}"}}
    server = scripted_server(paginated(1, 1, 2, [good, bad]))
    catalog = make_client(server.url, timezone="UTC").read_offer_catalog()
    assert [offer.offer_id for offer in catalog.offers] == [3]
    (rejected,) = catalog.rejected
    assert rejected.conversion_id == "three" and "id" in rejected.reason
    assert SECRET_TOKEN not in repr(rejected.raw)


@pytest.mark.parametrize("read", ["per row", "in bulk", "offers"])
def test_a_rejected_value_quoting_the_token_keeps_no_piece_of_it_in_the_reason(scripted_server, read):
    """A reason quotes a bad value cut to 60 characters: made from the masked row, whatever the cut."""
    values = ["x" * shift + SECRET_TOKEN for shift in range(25, 60)]
    if read == "offers":
        rows = [{"Offer": {"id": value, "name": "Bad", "status": "active"}} for value in values]
    else:
        rows = [
            {
                "Stat": {
                    "id": str(10 + i),
                    "datetime": "2024-03-09 12:00:00",
                    "offer_id": "1",
                    "status": "approved",
                    "payout": value,
                    "currency": "USD",
                }
            }
            for i, value in enumerate(values)
        ]
    client = make_client(scripted_server(paginated(1, 1, len(rows), rows)).url, timezone="UTC")
    window = datetime(2024, 3, 9, tzinfo=UTC), datetime(2024, 3, 10, tzinfo=UTC)
    if read == "offers":
        rejected = client.read_offer_catalog().rejected
    elif read == "per row":
        rejected = [row for batch in client.iter_conversion_batches(*window) for row in batch.rejected]
    else:
        rejected = [row for table in client.iter_conversion_tables(*window) for row in table.rejected]
    assert len(rejected) == len(values)
    pieces = [SECRET_TOKEN[i : i + 6] for i in range(len(SECRET_TOKEN) - 5)]
    for row in rejected:
        assert not any(piece in row.reason + repr(row.raw) + str(row.conversion_id) for piece in pieces), row.reason


# ---- test_connection -----------------------------------------------------------------------


def test_connection_ok_reports_the_time_zone(scripted_server):
    server = scripted_server(envelope({"Timezone": {"name": "Europe/Prague"}}), paginated(1, 0, 0, []))
    check = make_client(server.url, timezone=None).test_connection()
    assert (check.ok, check.outcome, check.timezone) == (True, "ok", "Europe/Prague")
    assert "Europe/Prague" in check.message
    assert [dict(q)["Method"] for q in server.requests] == ["getTimezone", "getConversions"]
    assert dict(server.requests[1])["limit"] == "1"


@pytest.mark.parametrize(
    "replies, outcome",
    [
        ([recorded_body("23")], "bad_credentials"),  # a wrong token (or id): TUNE does not say which
        ([api_error("NetworkToken is not valid")], "invalid_token"),
        ([envelope("UTC"), api_error("API key does not have permission to access Report")], "no_report_access"),
        ([api_error("Something else broke")], "error"),
    ],
)
def test_connection_failures_have_one_clear_outcome(scripted_server, replies, outcome):
    server = scripted_server(*replies)
    check = make_client(server.url).test_connection()
    assert (check.ok, check.outcome, check.timezone) == (False, outcome, None)
    assert check.message
    assert ("TUNE rejected the network id or the token (it does not say which)" in check.message) == (
        outcome == "bad_credentials"
    )
    assert_token_free(check.message)


def test_connection_to_a_closed_port_is_unreachable_quickly():
    started = datetime.now()
    check = make_client(closed_port_url(), backoff_base=0.5, max_retries=5).test_connection()
    assert (check.ok, check.outcome) == (False, "unreachable")
    assert "Cannot reach the TUNE API" in check.message
    assert_token_free(check.message)
    assert (datetime.now() - started).total_seconds() < 5


def test_with_an_affiliate_id_conversion_and_stats_reports_ask_for_that_affiliate_only(scripted_server):
    """The Network API reports every partner's conversions; ours are those of our affiliate id."""
    from trackly_pipeline.tune.stats import daily_offer_stats

    affiliate = [
        ("filters[Stat.affiliate_id][conditional]", "EQUAL_TO"),
        ("filters[Stat.affiliate_id][values][]", "1001"),
    ]
    window = (datetime(2024, 3, 9, tzinfo=UTC), datetime(2024, 3, 10, tzinfo=UTC))
    for affiliate_id, expected in ((1001, affiliate), (None, [])):
        server = scripted_server(paginated(1, 1, 0, []), paginated(1, 1, 0, []))
        tune = make_client(server.url, affiliate_id=affiliate_id)
        list(tune.iter_conversion_tables(*window))
        daily_offer_stats(tune, date(2024, 3, 9), date(2024, 3, 9))
        assert len(server.requests) == 2
        for query in server.requests:
            assert [pair for pair in query if pair[0].startswith("filters[Stat.affiliate_id]")] == expected
