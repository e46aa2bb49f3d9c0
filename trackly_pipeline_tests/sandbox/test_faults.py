"""Every fault kind over real HTTP, and the rules that choose which requests get them."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
import urllib3

from trackly_pipeline.sandbox import FaultRule

from .tunecalls import control, fields

REPORT = "Report::getConversions"


def page(tune, number: int, network_id: str = "acmenet"):
    return tune.raw(
        "Report", "getConversions", [*fields("Stat.id"), ("limit", "50"), ("page", str(number))], network_id=network_id
    )


@pytest.mark.parametrize("kind, status", [("http_500", 500), ("http_502", 502), ("http_504", 504)])
def test_http_errors_return_html_with_that_status(tune, server, kind, status):
    server.add_fault(FaultRule(kind, method=REPORT))
    failed = page(tune, 1)
    assert failed.status_code == status and failed.headers["Content-Type"].startswith("text/html")
    assert "<html>" in failed.text
    assert page(tune, 1).status_code == 200  # times=1: only once
    assert server.injected == [(kind, REPORT, 1)]


def test_fail_on_page_k_of_n_with_skip_and_page(tune, server):
    server.add_fault(FaultRule("http_502", method=REPORT, page=3, skip=1, times=2))
    statuses = [page(tune, 3).status_code for _ in range(4)]
    assert statuses == [200, 502, 502, 200]
    assert page(tune, 2).status_code == 200
    assert server.injected == [("http_502", REPORT, 3)] * 2


def test_every_matching_request_when_times_is_none_and_network_filter(tune, server):
    server.add_fault(FaultRule("api_error", times=None, network_id="boltmedia", message="Database unavailable"))
    for _ in range(3):
        body = page(tune, 1, network_id="boltmedia").json()
        assert body["response"]["status"] == -1 and body["response"]["errorMessage"] == "Database unavailable"
        assert body["response"]["errors"] == [{"publicMessage": "Database unavailable"}]
    assert page(tune, 1).json()["response"]["status"] == 1
    server.clear_faults()
    assert page(tune, 1, network_id="boltmedia").json()["response"]["status"] == 1


def test_rate_limit_fault_looks_like_the_real_one(tune, server):
    server.add_fault(FaultRule("rate_limit", method="Offer::findAll"))
    body = tune.call("Offer", "findAll")
    assert body["response"]["status"] == -1
    assert body["response"]["errorMessage"].startswith(
        "API usage exceeded rate limit.  Configured: 50/10s window; Your usage: "
    )
    assert tune.call("Offer", "findAll")["response"]["status"] == 1


def test_invalid_token_and_invalid_network_faults_send_tunes_one_reply(tune, server):
    """TUNE answers a wrong token as it answers an unknown network id (recording 23): both faults send it."""
    recorded = '{"response":{"errors":{"publicMessage":"Network id is not valid"},"link":"http:\\/\\/developers.hasoffers.com\\/"}}'
    server.add_fault(FaultRule("invalid_token"))
    assert tune.raw("Offer", "findAll").text == recorded
    server.add_fault(FaultRule("invalid_network"))
    assert tune.raw("Offer", "findAll").text == recorded
    assert tune.data("Offer", "findAll")  # each fired once


def test_malformed_json_is_truncated_with_status_200(tune, server):
    server.add_fault(FaultRule("malformed_json", method="Offer::findAll"))
    reply = tune.raw("Offer", "findAll")
    assert reply.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.text)
    assert reply.text.startswith('{"request":')


def test_slow_answers_normally_after_the_delay(tune, server):
    server.add_fault(FaultRule("slow", delay=0.6, method="Application::getTimezone"))
    started = time.perf_counter()
    assert tune.data("Application", "getTimezone")["Timezone"]["name"] == "America/New_York"
    assert time.perf_counter() - started >= 0.6
    with pytest.raises(requests.Timeout):
        server.add_fault(FaultRule("slow", delay=2.0))
        requests.get(server.api_url, params={"Target": "Offer", "Method": "findAll"}, timeout=0.3)


def test_trickle_sends_the_whole_reply_a_few_bytes_at_a_time(tune, server):
    whole = tune.raw("Application", "getTimezone")
    server.add_fault(FaultRule("trickle", delay=0.03, piece_bytes=8, method="Application::getTimezone"))
    pieces = -(-len(whole.content) // 8)
    assert pieces > 20
    started = time.perf_counter()
    # Every read gets bytes within 0.3 s, so a per-read timeout never fires: the reply is slow in total only.
    slow = requests.get(whole.url, timeout=0.3)
    elapsed = time.perf_counter() - started
    assert slow.status_code == 200 and slow.content == whole.content
    assert slow.headers["Content-Length"] == str(len(whole.content))
    assert elapsed >= (pieces - 1) * 0.03 > 0.6
    assert tune.raw("Application", "getTimezone").content == whole.content  # times=1: only once
    assert [kind for kind, _, _ in server.injected] == ["trickle"]


def test_trickle_needs_a_pause_between_pieces():
    with pytest.raises(ValueError, match="delay > 0"):
        FaultRule("trickle")
    with pytest.raises(ValueError, match="piece_bytes"):
        FaultRule("trickle", delay=0.1, piece_bytes=0)


def raw_get(url: str) -> tuple[dict[str, str], bytes]:
    """GET over a plain socket: the headers, and every body byte sent before the server closed."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = url.split(f":{port}", 1)[1]
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    return {"status": lines[0].split()[1], **headers}, body


def test_truncated_declares_the_whole_length_and_closes_after_half(tune, server):
    whole = tune.raw("Report", "getConversions", [*fields("Stat.id"), ("limit", "50")])
    server.add_fault(FaultRule("truncated", method=REPORT))
    headers, body = raw_get(whole.url)
    assert headers["status"] == "200" and headers["content-length"] == str(len(whole.content))
    assert body == whole.content[: len(whole.content) // 2]
    server.add_fault(FaultRule("truncated", method=REPORT))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(whole.url, timeout=5)
    assert tune.raw("Report", "getConversions", [*fields("Stat.id"), ("limit", "50")]).content == whole.content
    assert [kind for kind, _, _ in server.injected] == ["truncated", "truncated"]


def test_short_page_drops_rows_and_keeps_count_and_page_count(tune, server):
    whole = page(tune, 2).json()["response"]["data"]
    assert len(whole["data"]) == 50 and whole["count"] > 100
    server.add_fault(FaultRule("short_page", method=REPORT, page=2))
    server.add_fault(FaultRule("short_page", method=REPORT, page=2, skip=1, keep_rows=7))
    one_less, capped = page(tune, 2).json()["response"]["data"], page(tune, 2).json()["response"]["data"]
    assert one_less == {**whole, "data": whole["data"][:-1]}
    assert capped == {**whole, "data": whole["data"][:7]}
    assert page(tune, 2).json()["response"]["data"] == whole  # times=1: only once each
    assert server.injected == [("short_page", REPORT, 2)] * 2


def test_short_page_cuts_id_keyed_offers_and_leaves_unpaginated_replies(tune, server):
    paged = [("limit", "5"), ("page", "1")]
    whole, catalog = tune.data("Offer", "findAll", paged), tune.data("Offer", "findAll")
    server.add_fault(FaultRule("short_page", method="Offer::findAll", times=2, keep_rows=2))
    capped = tune.data("Offer", "findAll", paged)
    assert len(whole["data"]) == 5 and capped == {**whole, "data": dict(list(whole["data"].items())[:2])}
    assert tune.data("Offer", "findAll") == catalog  # no limit: not a page, left whole
    assert [kind for kind, _, _ in server.injected] == ["short_page"] * 2


def test_short_page_refuses_a_negative_row_count():
    with pytest.raises(ValueError, match="keep_rows"):
        FaultRule("short_page", keep_rows=-1)


def test_reply_sends_its_body_as_it_is_and_needs_one(tune, server):
    body = '<html>bad gateway for GET /Apiv3/json?NetworkToken=\u00e9t\u00e9 "quoted"</html>'
    server.add_fault(FaultRule("reply", method=REPORT, body=body))
    replied = page(tune, 1)
    assert replied.status_code == 200 and replied.content == body.encode()
    assert page(tune, 1).json()["response"]["status"] == 1  # times=1: only once
    with pytest.raises(ValueError, match="body"):
        FaultRule("reply")


def test_http_429_with_and_without_retry_after(tune, server):
    server.add_fault(FaultRule("http_429", method=REPORT, retry_after="7"))
    limited = page(tune, 1)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.headers["Content-Type"].startswith("text/html") and "<html>" in limited.text
    assert page(tune, 1).status_code == 200  # times=1: only once
    server.add_fault(FaultRule("http_429", method=REPORT, retry_after=None))
    bare = page(tune, 1)
    assert bare.status_code == 429 and "Retry-After" not in bare.headers
    assert server.injected == [("http_429", REPORT, 1)] * 2


def test_wire_faults_through_the_control_endpoint(tune, server):
    rules = [
        {"kind": "http_429", "retry_after": "3", "method": REPORT, "page": 2},
        {"kind": "trickle", "delay": 0.01, "piece_bytes": 64, "method": "Offer::findAll"},
    ]
    reply = control(server, "POST", "/_sandbox/faults", rules)
    assert reply.status_code == 200
    assert [(r["kind"], r["retry_after"], r["piece_bytes"]) for r in reply.json()["faults"]] == [
        ("http_429", "3", 8),
        ("trickle", "1", 64),
    ]
    assert page(tune, 2).headers["Retry-After"] == "3"
    assert control(server, "POST", "/_sandbox/faults", [{"kind": "trickle"}]).status_code == 400


def test_stop_does_not_wait_for_a_trickling_reply(world):
    from trackly_pipeline.sandbox import SandboxServer

    server = SandboxServer(world, faults=[FaultRule("trickle", delay=30, piece_bytes=1)]).start()
    reply = requests.get(server.api_url, timeout=5, stream=True)
    assert reply.raw.read(1)  # the first piece is out; the next is 30 s away
    started = time.perf_counter()
    server.stop()
    with pytest.raises(urllib3.exceptions.ProtocolError):  # the reply is cut off, not left hanging
        reply.raw.read()
    assert time.perf_counter() - started < 3
    reply.close()


def test_stop_does_not_wait_for_a_sleeping_request(world):
    from trackly_pipeline.sandbox import SandboxServer

    server = SandboxServer(world, faults=[FaultRule("slow", delay=30)]).start()
    try:
        requests.get(server.api_url, timeout=0.2)
    except requests.Timeout:
        pass
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 3


def test_faults_through_the_control_endpoint(tune, server):
    url = "/_sandbox/faults"
    rules = [
        {"kind": "http_504", "method": REPORT, "page": 2},
        {"kind": "api_error", "message": "boom", "times": None, "method": "Offer::findById"},
    ]
    reply = control(server, "POST", url, rules)
    assert reply.status_code == 200 and len(reply.json()["faults"]) == 2
    assert page(tune, 1).status_code == 200
    assert page(tune, 2).status_code == 504
    assert tune.error("Offer", "findById", [("id", "1")]) == "boom"
    assert control(server, "DELETE", url).json() == {"faults": []}
    assert tune.data("Offer", "findById", [("id", "1")]) is None
    assert control(server, "POST", url, [{"kind": "meteor"}]).status_code == 400
    assert server.injected == [("http_504", REPORT, 2), ("api_error", "Offer::findById", 1)]


def test_requests_are_recorded_redacted(tune, server):
    page(tune, 4)
    target, method, params = server.requests[-1]
    assert (target, method, params["page"], params["NetworkToken"]) == (
        "Report",
        "getConversions",
        "4",
        "*** hidden ***",
    )


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError):
        FaultRule("meteor")
