"""TuneClient against the TUNE sandbox over real HTTP on 127.0.0.1: pagination, ground truth,
injected faults, test_connection, and the token never leaking."""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from trackly_pipeline.sandbox import DEFAULT_NETWORKS, FaultRule, SandboxNetwork, SandboxServer, SandboxWorld
from trackly_pipeline.tune import (
    TuneApiError,
    TuneAuthError,
    TuneClient,
    TuneConnectionError,
    TuneHttpError,
    TuneIncompleteSweepError,
    TuneInvalidNetworkError,
    TunePermissionError,
    TuneRateLimitError,
)

from .sandbox_support import everything, mismatches, sandbox_client, truth_in_window

REJECTED = r"TUNE rejected the network id or the token \(it does not say which\): Network id is not valid"

ACME = "acmenet"  # America/New_York


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    return SandboxWorld.generate(seed=7, conversions_per_network=2000)


@pytest.fixture(scope="module")
def module_server(world):
    with SandboxServer(world, port=0, rate_limit=(50, 10.0)) as server:
        yield server


@pytest.fixture
def server(module_server):
    module_server.clear_faults()
    module_server.api.limiter.reset()
    module_server.requests.clear()
    module_server.injected.clear()
    yield module_server
    module_server.clear_faults()


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog, world):
    """Every test runs with DEBUG logging captured; no record may contain any network's token."""
    caplog.set_level(logging.DEBUG)
    yield
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for network in world.networks:
        assert world.token_for(network.network_id) not in text


def read_all(client: TuneClient, start, end, page_size=None):
    batches = list(client.iter_conversion_batches(start, end, page_size=page_size))
    return batches, [c for b in batches for c in b.conversions]


def report_pages_requested(server) -> list[str]:
    return [p.get("page") for t, m, p in server.requests if (t, m) == ("Report", "getConversions")]


# ---- ground truth ------------------------------------------------------------------------


@pytest.mark.parametrize("network", DEFAULT_NETWORKS, ids=lambda n: f"{n.network_id}-{n.timezone}")
def test_every_network_reads_back_its_ground_truth(world, server, network):
    client = sandbox_client(server, world, network.network_id, timezone=None, page_size=700)
    start, end = everything(world)
    batches, conversions = read_all(client, start, end)
    truth = truth_in_window(world, network.network_id, start, end)
    assert len(truth) > 1500
    assert client.timezone == network.timezone
    assert mismatches(conversions, truth) == []
    assert all(b.rejected == [] for b in batches)
    assert [b.page for b in batches] == list(range(1, batches[0].page_count + 1))
    assert batches[0].total_count == len(truth)


def test_zero_rows_window_makes_one_request(world, server):
    client = sandbox_client(server, world, ACME, timezone="America/New_York")
    start = world.anchor - timedelta(days=400)
    batches, conversions = read_all(client, start, start + timedelta(days=1))
    assert conversions == [] and len(batches) == 1
    assert (batches[0].page_count, batches[0].total_count) == (0, 0)
    assert report_pages_requested(server) == ["1"]


def test_exactly_one_full_page(world, server):
    start = world.anchor - timedelta(days=10)
    end = start + timedelta(days=2)
    truth = truth_in_window(world, ACME, start, end)
    client = sandbox_client(server, world, ACME, timezone="America/New_York")
    batches, conversions = read_all(client, start, end, page_size=len(truth))
    assert len(batches) == 1 and batches[0].page_count == 1
    assert report_pages_requested(server) == ["1"]
    assert mismatches(conversions, truth) == []


def test_last_partial_page_is_read(world, server):
    start = world.anchor - timedelta(days=10)
    end = start + timedelta(days=2)
    truth = truth_in_window(world, ACME, start, end)
    page_size = len(truth) // 3 + 1
    assert len(truth) % page_size != 0
    client = sandbox_client(server, world, ACME, timezone="America/New_York")
    batches, conversions = read_all(client, start, end, page_size=page_size)
    assert [len(b.conversions) for b in batches] == [page_size, page_size, len(truth) - 2 * page_size]
    assert report_pages_requested(server) == ["1", "2", "3"]
    assert mismatches(conversions, truth) == []


def test_window_is_half_open(world, server):
    truth = world.ground_truth_conversions(ACME)
    moment = truth["converted_at"].iloc[len(truth) // 2].to_pydatetime()
    client = sandbox_client(server, world, ACME, timezone="America/New_York")
    _, before = read_all(client, moment - timedelta(hours=1), moment)
    _, after = read_all(client, moment, moment + timedelta(hours=1))
    assert all(c.converted_at < moment for c in before)
    assert after and min(c.converted_at for c in after) == moment


def test_offers_match_ground_truth(world, server):
    client = sandbox_client(server, world, ACME, page_size=7)
    offers = client.find_offers()
    truth = world.ground_truth_offers(ACME).sort_values("offer_id").reset_index(drop=True)
    assert [o.offer_id for o in offers] == truth["offer_id"].tolist()
    sandbox_offers = {o.offer_id: o for o in world.offers(ACME)}
    for offer, expected in zip(offers, truth.to_dict("records")):
        assert offer.name == expected["name"]
        assert offer.status == expected["status"]
        assert offer.payout_type == expected["payout_type"]
        assert offer.default_payout == expected["default_payout"]
        if expected["percent_payout"] is None or expected["percent_payout"] != expected["percent_payout"]:
            assert offer.percent_payout is None
        else:
            assert float(offer.percent_payout) == expected["percent_payout"]
        assert offer.currency == (expected["currency"] if isinstance(expected["currency"], str) else None)
        assert offer.approve_conversions == expected["approve_conversions"]
        source = sandbox_offers[offer.offer_id]
        assert offer.advertiser_id == (source.advertiser.id if source.advertiser else None)
        assert offer.advertiser_name == (source.advertiser.company if source.advertiser else None)
        assert offer.offer_url == expected["offer_url"]
        if source.model["modified"] < 0:  # TUNE's "never modified" (year 0, recording 01) reads as none
            assert offer.modified is None
        else:
            assert offer.modified is not None and int(offer.modified.timestamp()) == source.model["modified"]
        local = offer.expiration_date.astimezone(client_zone(client))
        assert local.strftime("%Y-%m-%d %H:%M:%S") == source.model["expiration_date"]
    assert any(o.advertiser_name and not o.advertiser_name.isascii() for o in offers)
    assert any(o.modified is None for o in offers) and any(o.modified is not None for o in offers)


def client_zone(client: TuneClient):
    from zoneinfo import ZoneInfo

    return ZoneInfo(client.timezone)


def test_find_offers_by_id(world, server):
    wanted = [o.offer_id for o in world.offers(ACME)][::3]
    offers = sandbox_client(server, world, ACME).find_offers([*wanted, 999999])
    assert [o.offer_id for o in offers] == sorted(wanted)


# ---- faults that must be survived ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["http_500", "http_502", "http_504", "malformed_json", "rate_limit"])
def test_transient_faults_on_a_middle_page_are_retried(world, server, kind):
    start = world.anchor - timedelta(days=10)
    end = start + timedelta(days=3)
    truth = truth_in_window(world, ACME, start, end)
    server.add_fault(FaultRule(kind=kind, times=2, method="Report::getConversions", page=2))
    sleeps: list[float] = []
    client = sandbox_client(
        server, world, ACME, timezone="America/New_York", rate_limit=(40, 0.2), sleep=lambda s: sleeps.append(s)
    )
    _, conversions = read_all(client, start, end, page_size=len(truth) // 3 + 1)
    assert mismatches(conversions, truth) == []
    assert server.injected == [(kind, "Report::getConversions", 2)] * 2
    assert report_pages_requested(server) == ["1", "2", "2", "2", "3"]
    if kind == "rate_limit":
        assert len(sleeps) == 2 and all(0.2 <= s <= 0.22 for s in sleeps)  # the window, plus jitter


def test_slow_reply_beyond_the_timeout_is_retried(world, server):
    server.add_fault(FaultRule(kind="slow", delay=2.0, times=1, method="Offer::findAll"))
    offers = sandbox_client(server, world, ACME, timeout=0.3).find_offers()
    assert len(offers) == len(world.offers(ACME))
    assert [k for k, _, _ in server.injected] == ["slow"]


# Faults on the wire. A trickle sends ~256 bytes every 30 ms: each read is fast, the whole reply
# takes seconds (a 35 kB report page: 4 s), far past the 0.5 s timeouts below.
WIRE_FAULTS = {
    "trickle": dict(delay=0.03, piece_bytes=256),
    "truncated": {},
    "http_429": dict(retry_after="2"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", list(WIRE_FAULTS))
def test_wire_faults_a_few_times_are_retried_and_read_the_same_rows(world, server, kind):
    start = world.anchor - timedelta(days=10)
    end = start + timedelta(days=3)
    truth = truth_in_window(world, ACME, start, end)
    page_size = len(truth) // 3 + 1
    clean = sandbox_client(server, world, ACME, timezone="America/New_York")
    _, expected = read_all(clean, start, end, page_size=page_size)
    server.requests.clear()
    server.add_fault(FaultRule(kind=kind, times=2, method="Report::getConversions", page=2, **WIRE_FAULTS[kind]))
    sleeps: list[float] = []
    client = sandbox_client(server, world, ACME, timezone="America/New_York", timeout=0.5, sleep=sleeps.append)
    _, conversions = read_all(client, start, end, page_size=page_size)
    assert conversions == expected and mismatches(conversions, truth) == []
    assert server.injected == [(kind, "Report::getConversions", 2)] * 2
    assert report_pages_requested(server) == ["1", "2", "2", "2", "3"]
    if kind == "http_429":
        assert sleeps == [2.0, 2.0]  # as Retry-After asked, not the client's own window


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "kind, cause", [("trickle", "timed out after 0.5s"), ("truncated", "connection broken mid-reply")]
)
def test_persistent_wire_faults_fail_clearly_within_the_retry_budget(world, server, kind, cause):
    server.add_fault(FaultRule(kind=kind, times=None, method="Offer::findAll", **WIRE_FAULTS[kind]))
    client = sandbox_client(server, world, ACME, timezone="UTC", timeout=0.5, max_retries=2)
    started = time.monotonic()
    with pytest.raises(TuneConnectionError) as caught:
        client.find_offers()
    elapsed = time.monotonic() - started
    assert len(server.injected) == 3
    # Three attempts of at most 0.5 s each, plus backoffs of at most 0.05 s.
    assert elapsed < 3 * 0.5 + 0.6
    if kind == "trickle":
        assert elapsed >= 3 * 0.5  # each attempt ran to its deadline
    message = str(caught.value)
    assert f"TUNE Offer::findAll failed after 3 attempts: {cause}" in message
    assert "NetworkToken=***" in message and world.token_for(ACME) not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.timeout(30)
def test_a_read_waits_no_longer_than_the_attempt_has_left(world, server):
    # Pieces at 0, 0.9, 1.8 s: a read started at 0.9 s may block 0.1 s, not until the piece at 1.8 s.
    server.add_fault(FaultRule(kind="trickle", times=None, method="Offer::findAll", delay=0.9, piece_bytes=4096))
    client = sandbox_client(server, world, ACME, timezone="UTC", timeout=1.0, max_retries=0)
    started = time.monotonic()
    with pytest.raises(TuneConnectionError, match="failed after 1 attempts: timed out after 1s"):
        client.find_offers()
    assert 1.0 <= time.monotonic() - started < 1.4


def test_persistent_http_429_uses_the_rate_limit_budget(world, server):
    server.add_fault(FaultRule(kind="http_429", times=None, method="Offer::findAll", retry_after="1"))
    sleeps: list[float] = []
    client = sandbox_client(server, world, ACME, timezone="UTC", rate_limit_retries=2, sleep=sleeps.append)
    expected = "still rate limited after 2 waits: HTTP 429 Too Many Requests"
    with pytest.raises(TuneRateLimitError, match=expected) as caught:
        client.find_offers()
    assert sleeps == [1.0, 1.0] and len(server.injected) == 3
    assert world.token_for(ACME) not in str(caught.value)


def test_server_rate_limit_is_waited_out(world):
    """The server allows 5 calls per second; a client allowed more is told off, waits, and finishes."""
    with SandboxServer(world, port=0, rate_limit=(5, 1.0)) as small:
        client = sandbox_client(small, world, ACME, timezone="America/New_York", rate_limit=(50, 1.0))
        start = world.anchor - timedelta(days=10)
        truth = truth_in_window(world, ACME, start, start + timedelta(days=3))
        _, conversions = read_all(client, start, start + timedelta(days=3), page_size=20)
        assert mismatches(conversions, truth) == []
        assert len(small.requests) > len(truth) / 20 + 1  # some requests were refused and repeated


def test_client_limiter_stays_under_the_server_limit(world, caplog):
    with SandboxServer(world, port=0, rate_limit=(5, 1.0)) as small:
        client = sandbox_client(small, world, ACME, timezone="America/New_York", rate_limit=(5, 1.0))
        start = world.anchor - timedelta(days=10)
        _, conversions = read_all(client, start, start + timedelta(days=1), page_size=10)
        pages = len(small.requests)
        assert pages >= 6 and len(conversions) > 50
        assert pages == -(-len(conversions) // 10)  # no request was refused and repeated
        assert "rate limit" not in caplog.text


# ---- faults that must fail clearly --------------------------------------------------------


def test_persistent_5xx_fails_after_bounded_retries(world, server):
    server.add_fault(FaultRule(kind="http_502", times=None, method="Report::getConversions"))
    client = sandbox_client(server, world, ACME, timezone="America/New_York", max_retries=3)
    start, end = everything(world)
    with pytest.raises(TuneHttpError) as caught:
        read_all(client, start, end)
    assert len(server.injected) == 4
    assert "TUNE Report::getConversions failed after 4 attempts: HTTP 502" in str(caught.value)
    assert world.token_for(ACME) not in str(caught.value) and "NetworkToken=***" in str(caught.value)


@pytest.mark.parametrize(
    "kind, error, text",
    [
        # TUNE's one reply to a wrong token or network id (recording 23): the error says it cannot tell which.
        ("invalid_token", TuneInvalidNetworkError, REJECTED),
        ("invalid_network", TuneInvalidNetworkError, REJECTED),
        ("api_error", TuneApiError, "Internal error"),
    ],
)
def test_api_faults_fail_at_once(world, server, kind, error, text):
    server.add_fault(FaultRule(kind=kind, times=None, method="Offer::findAll"))
    with pytest.raises(error, match=text) as caught:
        sandbox_client(server, world, ACME, timezone="UTC").find_offers()
    assert type(caught.value) is error
    assert len(server.injected) == 1
    assert world.token_for(ACME) not in str(caught.value)


def test_wrong_token_and_wrong_network(world, server):
    """The sandbox answers both as TUNE answered a wrong token (recording 23), so the client says both."""
    wrong_token = TuneClient(ACME, "sbx-not-the-right-token-000000000", server.api_url, timezone="UTC")
    with pytest.raises(TuneInvalidNetworkError, match=REJECTED) as caught:
        wrong_token.find_offers()
    assert isinstance(caught.value, TuneAuthError)
    assert "sbx-not-the-right-token" not in str(caught.value)
    with pytest.raises(TuneInvalidNetworkError, match=REJECTED):
        TuneClient("nosuchnet", world.token_for(ACME), server.api_url, timezone="UTC").find_offers()


# ---- every row TUNE counts must arrive ----------------------------------------------------


def incomplete(count: int, received: int, pages: int, page_size: int) -> str:
    return (
        f"TUNE Report::getConversions said {count:,} conversions match but returned {received:,} over "
        f"{pages} pages of {page_size:,}; if the network caps rows per page, lower page_size"
    )


@pytest.mark.parametrize("sweep", ["iter_conversion_tables", "iter_conversion_batches"])
def test_a_page_one_row_short_fails_the_sweep_once_its_pages_are_read(world, server, sweep):
    start = world.anchor - timedelta(days=10)
    end = start + timedelta(days=3)
    truth = truth_in_window(world, ACME, start, end)
    page_size = len(truth) // 3 + 1
    server.add_fault(FaultRule("short_page", method="Report::getConversions", page=2))  # drops its last row
    client = sandbox_client(server, world, ACME, timezone="America/New_York")
    pages = getattr(client, sweep)(start, end, page_size=page_size)
    assert [next(pages).page for _ in range(3)] == [1, 2, 3]  # every page is handed over...
    with pytest.raises(TuneIncompleteSweepError) as caught:
        next(pages)  # ...and the sweep fails where it would have ended
    assert str(caught.value) == incomplete(len(truth), len(truth) - 1, 3, page_size)
    assert report_pages_requested(server) == ["1", "2", "3"]  # the pages were read once: not retried
    assert server.injected == [("short_page", "Report::getConversions", 2)]


def test_a_network_capping_rows_per_page_fails_the_sweep(world, server):
    start, end = everything(world)
    truth = truth_in_window(world, ACME, start, end)
    cap, page_size = 300, 700
    server.add_fault(FaultRule("short_page", times=None, method="Report::getConversions", keep_rows=cap))
    client = sandbox_client(server, world, ACME, timezone="America/New_York")
    pages = -(-len(truth) // page_size)
    last_page = len(truth) - (pages - 1) * page_size
    with pytest.raises(TuneIncompleteSweepError) as caught:
        read_all(client, start, end, page_size=page_size)
    assert str(caught.value) == incomplete(len(truth), (pages - 1) * cap + min(cap, last_page), pages, page_size)
    assert world.token_for(ACME) not in str(caught.value)


def test_hostile_rows_beyond_count_do_not_fail_the_sweep(world, server):
    start, end = everything(world)
    server.add_fault(FaultRule("hostile_rows", page=2))  # more rows than `count` on page 2
    batches, _ = read_all(sandbox_client(server, world, ACME, timezone="America/New_York"), start, end, page_size=700)
    received = sum(len(b.conversions) + len(b.rejected) for b in batches)
    assert received > batches[-1].total_count == len(truth_in_window(world, ACME, start, end))


def test_conversions_arriving_mid_sweep_grow_count_without_failing_it():
    world = SandboxWorld.generate(seed=7, conversions_per_network=2000)  # its own: the clock moves
    start, end = world.clock.now() - timedelta(days=3), world.clock.now() + timedelta(days=1)
    with SandboxServer(world, port=0) as own:
        client = sandbox_client(own, world, ACME, timezone="America/New_York")
        pages = client.iter_conversion_batches(start, end, page_size=50)
        first = next(pages)
        world.clock.advance(timedelta(hours=12))  # conversions arrive while the sweep reads on
        batches = [first, *pages]
    truth = truth_in_window(world, ACME, start, end)  # as of the advanced clock
    assert first.total_count < batches[-1].total_count == len(truth)
    assert first.page_count < batches[-1].page_count == len(batches)
    assert [c.conversion_id for b in batches for c in b.conversions] == truth["conversion_id"].tolist()


def test_an_offer_catalog_short_of_offers_fails_instead_of_forgetting_them(world, server):
    """The offer sync replaces the catalog (and the `imported` choices) with what it read: an offer
    a capped page left out would be forgotten, so the read fails instead."""
    offers = len(world.offers(ACME))
    page_size = offers // 2 + 1
    server.add_fault(FaultRule("short_page", method="Offer::findAll", page=1))  # drops its last offer
    client = sandbox_client(server, world, ACME, page_size=page_size)
    with pytest.raises(TuneIncompleteSweepError) as caught:
        client.read_offer_catalog()
    assert str(caught.value) == (
        f"TUNE Offer::findAll said {offers:,} offers match but returned {offers - 1:,} over 2 pages of "
        f"{page_size:,}; if the network caps rows per page, lower page_size"
    )
    assert len(client.read_offer_catalog().offers) == offers  # the fault fired once: complete again


# ---- fields only some TUNE versions know --------------------------------------------------

UNIQUE_COLUMNS = [f"affiliate_unique{n}" for n in range(1, 6)]


def requested_fields(server) -> set[str]:
    return {name for t, m, p in server.requests if (t, m) == ("Report", "getConversions") for name in p["fields"]}


def test_without_extra_fields_a_sweep_reads_a_tune_that_lacks_conversions_mobile():
    plain = replace(DEFAULT_NETWORKS[0], mobile_report_fields=False)
    world = SandboxWorld.generate(seed=7, conversions_per_network=800, networks=(plain,))
    with SandboxServer(world, port=0) as own:
        start, end = everything(world)
        truth = truth_in_window(world, ACME, start, end)
        assert truth[UNIQUE_COLUMNS].notna().any().all()  # values TUNE holds but will not report here
        _, conversions = read_all(sandbox_client(own, world, ACME, extra_conversion_fields=()), start, end, 300)
        assert mismatches(conversions, truth.assign(**dict.fromkeys(UNIQUE_COLUMNS))) == []  # all None
        assert not any(name.startswith("ConversionsMobile.") for name in requested_fields(own))
        with pytest.raises(TuneApiError, match=r"Invalid field: ConversionsMobile\.affiliate_unique1"):
            read_all(sandbox_client(own, world, ACME), start, end)  # asked for: TUNE refuses the report


def test_extra_fields_are_requested_and_read_back(world, server):
    start, end = everything(world)
    truth = truth_in_window(world, "cobaltads", start, end)
    assert truth["affiliate_unique1"].notna().sum() > 100  # cobalt carries Trackly's message id there
    assert truth[UNIQUE_COLUMNS].notna().any().all()  # and every column holds values in the truth
    client = sandbox_client(
        server,
        world,
        "cobaltads",
        extra_conversion_fields=["ConversionsMobile.affiliate_unique1", "ConversionsMobile.affiliate_unique2"],
    )
    _, conversions = read_all(client, start, end, page_size=700)
    others = dict.fromkeys(UNIQUE_COLUMNS[2:])
    assert mismatches(conversions, truth.assign(**others)) == []
    assert {n for n in requested_fields(server) if n.startswith("ConversionsMobile.")} == {
        "ConversionsMobile.affiliate_unique1",
        "ConversionsMobile.affiliate_unique2",
    }


def test_extra_fields_the_parsers_do_not_read_are_refused(world, server):
    with pytest.raises(ValueError, match=r"ConversionsMobile\.ios_ifa"):
        sandbox_client(server, world, ACME, extra_conversion_fields=["ConversionsMobile.ios_ifa"])


# ---- test_connection ----------------------------------------------------------------------


def test_connection_ok(world, server):
    check = sandbox_client(server, world, "boltmedia").test_connection()
    assert (check.ok, check.outcome, check.timezone) == (True, "ok", "Europe/Berlin")
    assert "Europe/Berlin" in check.message


def test_connection_unreachable(world):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = TuneClient(ACME, world.token_for(ACME), f"http://127.0.0.1:{port}/Apiv3/json", backoff_base=0.5)
    check = client.test_connection()
    assert (check.ok, check.outcome, check.timezone) == (False, "unreachable", None)
    assert world.token_for(ACME) not in check.message


def test_connection_invalid_network_and_token(world, server):
    """A wrong token must not be reported as a wrong network id (TUNE's reply says `Network id is not
    valid` for both): one outcome, saying TUNE does not tell which."""
    bad_network = TuneClient("nosuchnet", world.token_for(ACME), server.api_url).test_connection()
    bad_token = TuneClient(ACME, "sbx-wrong-token-00000000000000000", server.api_url).test_connection()
    for check, network_id in ((bad_network, "nosuchnet"), (bad_token, ACME)):
        assert (check.ok, check.outcome) == (False, "bad_credentials")
        assert (
            check.message
            == f"TUNE rejected the network id or the token (it does not say which) for network {network_id!r}."
        )


def test_connection_without_report_access():
    locked = SandboxNetwork(
        key="locked",
        network_id="lockednet",
        timezone="UTC",
        default_currency="USD",
        currencies=("USD",),
        message_id_field="aff_sub",
        affiliate_id="9",
        report_access=False,
    )
    world = SandboxWorld.generate(seed=3, conversions_per_network=50, networks=(locked,))
    with SandboxServer(world, port=0) as server:
        client = TuneClient("lockednet", world.token_for("lockednet"), server.api_url, timezone=None)
        check = client.test_connection()
        assert (check.ok, check.outcome) == (False, "no_report_access")
        assert [m for _, m, _ in server.requests] == ["getTimezone", "getConversions"]
        with pytest.raises(TunePermissionError):
            list(client.iter_conversion_batches(*everything(world)))
