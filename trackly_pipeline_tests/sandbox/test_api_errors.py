"""Failures TUNE reports, the rate limit, credential hygiene, loopback binding and control endpoints."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest
import requests

from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SandboxNetwork, SandboxServer, SandboxWorld

from .tunecalls import Tune, control, fields

# Byte for byte what TUNE sent for a wrong token with a valid network id (recorded reply 23), and
# what the sandbox sends for an unknown network id too: TUNE does not say which of the two is wrong.
INVALID_NETWORK_BODY = '{"response":{"errors":{"publicMessage":"Network id is not valid"},"link":"http:\\/\\/developers.hasoffers.com\\/"}}'


def test_unknown_or_missing_network_id(tune, server):
    assert tune.raw("Offer", "findAll", network_id="nosuchnet", token="x").text == INVALID_NETWORK_BODY
    missing = requests.get(server.api_url, params={"Target": "Offer", "Method": "findAll"}, timeout=5)
    assert (missing.status_code, missing.text) == (200, INVALID_NETWORK_BODY)


def test_wrong_token_is_answered_as_recorded(tune, server):
    """Recording 23: a real network id and a wrong NetworkToken got `Network id is not valid` in the
    short body (HTTP 200, no status, no request echo), the reply to an unknown network id."""
    for token in ("sbx-wrong", "", server.world.token_for("boltmedia")):  # another network's token is wrong here too
        reply = tune.raw("Offer", "findAll", token=token)
        assert (reply.status_code, reply.text) == (200, INVALID_NETWORK_BODY)
    missing = requests.get(
        server.api_url, params={"Target": "Report", "Method": "getConversions", "NetworkId": "acmenet"}, timeout=5
    )
    assert (missing.status_code, missing.text) == (200, INVALID_NETWORK_BODY)


def test_unknown_target_or_method(tune):
    assert tune.error("Offer", "fooBar") == "Method Offer::fooBar does not exist"
    assert tune.error("Nope", "findAll") == "Method Nope::findAll does not exist"


def test_token_without_report_access():
    limited = SandboxNetwork("dim", "dimnet", "UTC", "USD", ("USD",), "aff_sub", "9", report_access=False)
    world = SandboxWorld.generate(
        seed=3, networks=(DEFAULT_NETWORKS[0], limited), history_days=3, conversions_per_network=50
    )
    with SandboxServer(world) as server:
        tune = Tune(server, "dimnet")
        assert (
            tune.error("Report", "getConversions", fields("Stat.id"))
            == "API key does not have permission to access Report"
        )
        assert tune.data("Offer", "findAll")  # offers are still readable
        assert Tune(server).data("Report", "getConversions", fields("Stat.id"))["count"] > 0


def test_rate_limit_is_enforced_per_network_in_fixed_windows(world):
    with SandboxServer(world, rate_limit=(5, 1.0)) as server:
        tune = Tune(server)
        replies = [tune.call("Application", "getTimezone") for _ in range(7)]
        assert [r["response"]["status"] for r in replies] == [1] * 5 + [-1] * 2
        assert (
            replies[5]["response"]["errorMessage"]
            == "API usage exceeded rate limit.  Configured: 5/1s window; Your usage: 6."
        )
        assert replies[6]["response"]["errors"] == [
            {"publicMessage": "API usage exceeded rate limit.  Configured: 5/1s window; Your usage: 7."}
        ]
        assert Tune(server, "boltmedia").data("Application", "getTimezone")  # other networks have their own window
        time.sleep(1.05)
        assert tune.data("Application", "getTimezone")  # a new window


def test_default_rate_limit_message_names_50_per_10s(server):
    message = server.api.rate_limited_body("Offer", {})["response"]["errorMessage"]
    assert message == "API usage exceeded rate limit.  Configured: 50/10s window; Your usage: 51."


def test_tokens_appear_only_where_tune_echoes_them_and_never_in_logs(world, caplog):
    caplog.set_level(logging.DEBUG, logger="trackly_pipeline.sandbox")
    tokens = list(world.token_env().values())
    with SandboxServer(world) as server:
        tune = Tune(server)
        bodies = [
            tune.raw("Offer", "findAll").text,
            tune.raw("Offer", "findAll", token="not-it").text,
            tune.raw("Offer", "fooBar").text,
            tune.raw("Report", "getConversions", fields("Stat.id", "Stat.ad_id"), form="v3").text,
            tune.raw("Report", "getConversions", verb="POST").text,
        ]
        recorded = repr(server.requests)
    # TUNE echoes the token sent in request.NetworkToken (tune-api.md 2.1), and nowhere else.
    echoed = [json.loads(body).get("request", {}).pop("NetworkToken", None) for body in bodies]
    assert echoed.count(world.token_for("acmenet")) >= 3
    rest = [json.dumps({k: v for k, v in json.loads(body).items() if k != "request"}) for body in bodies]
    for token in tokens:
        assert all(token not in text for text in rest)
        assert token not in recorded
        # (the test's own HTTP client logs its URLs; only the sandbox's records are ours)
        assert all(token not in r.getMessage() for r in caplog.records if r.name.startswith("trackly_pipeline.sandbox"))
    assert any(r.name.startswith("trackly_pipeline.sandbox") for r in caplog.records)
    assert all(params["NetworkToken"] == "*** hidden ***" for _, _, params in server.requests)


def test_listens_on_loopback_only(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert server._http.socket.getsockname()[0] == "127.0.0.1"
    with pytest.raises(ValueError):
        SandboxServer(server.world, host="0.0.0.0")


def test_stops_cleanly_and_frees_the_port(world):
    server = SandboxServer(world).start()
    port = server.port
    Tune(server).data("Application", "getTimezone")
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/Apiv3/json", timeout=2)
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    probe.bind(("127.0.0.1", port))
    probe.close()


def test_control_endpoints_move_the_clock(world):
    own = SandboxWorld.generate(seed=4, history_days=3, conversions_per_network=50, anchor=world.anchor)
    with SandboxServer(own) as server:
        clock = "/_sandbox/clock"
        assert control(server, "GET", clock).json() == {"now": "2026-11-20T12:00:00+00:00"}
        assert control(server, "POST", clock, {"advance_seconds": 3600}).json() == {"now": "2026-11-20T13:00:00+00:00"}
        assert (
            control(server, "POST", clock, {"now": "2026-11-21T00:00:00+00:00"}).json()["now"]
            == "2026-11-21T00:00:00+00:00"
        )
        assert own.clock.now().isoformat() == "2026-11-21T00:00:00+00:00"
        assert control(server, "POST", clock, {"later": 1}).status_code == 400
        assert control(server, "GET", "/_sandbox/nothing").status_code == 404
