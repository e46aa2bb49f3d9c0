"""Sweeps across a DST fall-back: TUNE reports Stat.datetime as network-local wall time without an
offset, and the wall times of the repeated hour happen twice. No conversion may be lost to that:
the client asks for the whole repeated hour whenever a window touches it, keeps every row TUNE
returns, and reads a repeated wall time as its later instant (docs/tables.md, converted_at).
Against the sandbox over real HTTP, whose filter compares wall times, in New York (a one-hour
shift), Lord Howe (a 30-minute shift) and Adelaide (a half-hour offset, +10:30 to +09:30)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SandboxServer, SandboxWorld
from trackly_pipeline.tune import TuneClient
from trackly_pipeline.tune.conversion_schema import conversions_table

from .conftest import SECRET_TOKEN, envelope
from .sandbox_support import mismatches, sandbox_client, truth_in_window

UTC = UTC
ACME = DEFAULT_NETWORKS[0]  # America/New_York
LORD_HOWE = replace(ACME, key="lordhowe", network_id="lordhowenet", timezone="Australia/Lord_Howe", affiliate_id="4004")
ADELAIDE = replace(ACME, key="adelaide", network_id="adelaidenet", timezone="Australia/Adelaide", affiliate_id="5005")

# network, the instant of the fall-back (the second occurrence starts), its shift, and the world around it
CASES = {
    "new_york": (ACME, datetime(2026, 11, 1, 6, tzinfo=UTC), timedelta(hours=1), datetime(2026, 11, 3, 12, tzinfo=UTC)),
    "lord_howe": (
        LORD_HOWE,
        datetime(2026, 4, 4, 15, tzinfo=UTC),
        timedelta(minutes=30),
        datetime(2026, 4, 7, 12, tzinfo=UTC),
    ),
    "adelaide": (
        ADELAIDE,
        datetime(2026, 4, 4, 16, 30, tzinfo=UTC),
        timedelta(hours=1),
        datetime(2026, 4, 7, 12, tzinfo=UTC),
    ),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    network, change, shift, anchor = CASES[request.param]
    world = SandboxWorld.generate(
        seed=13, anchor=anchor, history_days=4, conversions_per_network=1500, networks=(network,)
    )
    with SandboxServer(world, port=0, rate_limit=(10_000, 1.0)) as server:
        yield world, server, network, change, shift


def client_for(world, server, network) -> TuneClient:
    return sandbox_client(server, world, network.network_id, timezone=network.timezone, rate_limit=(10_000, 1.0))


def sweep(client: TuneClient, start: datetime, end: datetime) -> dict[int, datetime]:
    """conversion_id -> converted_at of one sweep, per row and in bulk (which must agree); no row rejected."""
    batches = list(client.iter_conversion_batches(start, end, page_size=40))
    tables = list(client.iter_conversion_tables(start, end, page_size=40))
    assert [r.reason for b in batches for r in b.rejected] == [] == [r.reason for t in tables for r in t.rejected]
    for batch, page in zip(batches, tables, strict=True):
        assert page.table.equals(conversions_table(batch.conversions))
    return {c.conversion_id: c.converted_at for b in batches for c in b.conversions}


def windows(change: datetime, shift: timedelta) -> list[tuple[datetime, datetime]]:
    """Windows starting inside either occurrence, at the change, and every hourly partition around it."""
    half = shift / 2
    chosen = [
        (change + half, change + half + timedelta(hours=2)),
        (change - half, change - half + timedelta(hours=1)),
        (change, change + timedelta(hours=1)),
        (change - shift, change),
        (change - half, change + half),
    ]
    hour = change.replace(minute=0)
    chosen += [(hour + timedelta(hours=h), hour + timedelta(hours=h + 1)) for h in range(-3, 4)]
    return chosen


def test_the_world_has_conversions_in_both_occurrences(case):
    world, _, network, change, shift = case
    truth = world.ground_truth_conversions(network.network_id)
    first = truth[(truth.converted_at >= change - shift) & (truth.converted_at < change)]
    second = truth[(truth.converted_at >= change) & (truth.converted_at < change + shift)]
    assert len(first) >= 3 and len(second) >= 3
    assert (first.stored_at == first.converted_at + shift).all() and (second.stored_at == second.converted_at).all()


def test_no_conversion_is_lost_to_a_repeated_hour(case):
    """Whatever window a sweep starts or ends in, every conversion read as an instant of it comes
    back, read as the documented instant, and nothing is rejected; any other row it returns (a
    repeated wall time whose later instant lies past the window) is a real conversion, read the same."""
    world, server, network, change, shift = case
    client = client_for(world, server, network)
    truth = world.ground_truth_conversions(network.network_id).set_index("conversion_id")
    for start, end in windows(change, shift):
        got = sweep(client, start, end)
        expected = truth_in_window(world, network.network_id, start, end)
        missing = set(expected.conversion_id) - set(got)
        assert not missing, (start, end, sorted(missing))
        for conversion_id, converted_at in got.items():
            assert converted_at == truth.loc[conversion_id, "stored_at"].to_pydatetime(), (start, end, conversion_id)


@pytest.mark.slow
def test_a_wide_sweep_and_hourly_sweeps_store_the_same_instants(case):
    world, server, network, change, shift = case
    client = client_for(world, server, network)
    start, end = change - timedelta(days=2), world.clock.now()
    wide = sweep(client, start, end)
    truth = truth_in_window(world, network.network_id, start, end)
    batches = list(client.iter_conversion_batches(start, end))
    assert mismatches([c for b in batches for c in b.conversions], truth) == []
    hourly: dict[int, datetime] = {}
    hour = change.replace(minute=0)
    for h in range(-6, 6):
        hourly.update(sweep(client, hour + timedelta(hours=h), hour + timedelta(hours=h + 1)))
    assert hourly and all(wide[conversion_id] == at for conversion_id, at in hourly.items())
    repeated = truth[(truth.converted_at >= change - shift) & (truth.converted_at < change + shift)]
    assert set(repeated.conversion_id) <= set(hourly)


# ---- what is asked of TUNE, and a TUNE that ignores it (scripted replies) ---------------------------


def between(query) -> list[str]:
    return [value for key, value in query if key == "filters[Stat.datetime][values][]"]


def reply_with(rows: list[dict]) -> str:
    return envelope({"page": 1, "current": 0, "count": len(rows), "pageCount": 1, "data": rows})


def stat(conversion_id: int, local: str) -> dict:
    return {
        "Stat": {
            "id": str(conversion_id),
            "datetime": local,
            "offer_id": "1",
            "status": "approved",
            "payout": "1.00000",
            "currency": "USD",
        }
    }


@pytest.mark.parametrize(
    "zone, start, end, asked",
    [
        # New York, 2026-11-01: 01:00-01:59:59 happens at 05:00-05:59:59 UTC (EDT) and 06:00-06:59:59 (EST).
        ("America/New_York", "2026-11-01T06:00Z", "2026-11-01T07:00Z", ["2026-11-01 00:59:59", "2026-11-01 02:00:00"]),
        ("America/New_York", "2026-11-01T06:30Z", "2026-11-01T08:00Z", ["2026-11-01 00:59:59", "2026-11-01 02:59:59"]),
        ("America/New_York", "2026-11-01T05:00Z", "2026-11-01T05:30Z", ["2026-11-01 00:59:59", "2026-11-01 02:00:00"]),
        ("America/New_York", "2026-11-01T04:00Z", "2026-11-01T05:00Z", ["2026-11-01 00:00:00", "2026-11-01 00:59:59"]),
        ("America/New_York", "2026-11-01T07:00Z", "2026-11-01T08:00Z", ["2026-11-01 02:00:00", "2026-11-01 02:59:59"]),
        ("America/New_York", "2026-10-31T12:00Z", "2026-11-02T12:00Z", ["2026-10-31 08:00:00", "2026-11-02 06:59:59"]),
        # Lord Howe, 2026-04-05: 01:30-01:59:59 happens at 14:30 UTC (+11) and 15:00 UTC (+10:30).
        (
            "Australia/Lord_Howe",
            "2026-04-04T15:00Z",
            "2026-04-04T16:00Z",
            ["2026-04-05 01:29:59", "2026-04-05 02:29:59"],
        ),
        (
            "Australia/Lord_Howe",
            "2026-04-04T14:45Z",
            "2026-04-04T14:50Z",
            ["2026-04-05 01:29:59", "2026-04-05 02:00:00"],
        ),
        # Adelaide, 2026-04-05: 02:00-02:59:59 happens at 15:30 UTC (+10:30) and 16:30 UTC (+09:30).
        (
            "Australia/Adelaide",
            "2026-04-04T16:00Z",
            "2026-04-04T17:00Z",
            ["2026-04-05 01:59:59", "2026-04-05 03:00:00"],
        ),
        (
            "Australia/Adelaide",
            "2026-04-04T17:00Z",
            "2026-04-04T18:00Z",
            ["2026-04-05 01:59:59", "2026-04-05 03:29:59"],
        ),
        # A spring-forward changes nothing: its wall times happen once (Berlin, 2026-03-29 02:00-02:59:59 never).
        ("Europe/Berlin", "2026-03-29T00:00Z", "2026-03-29T03:00Z", ["2026-03-29 01:00:00", "2026-03-29 04:59:59"]),
    ],
)
def test_the_request_reaches_over_the_whole_repeated_hour(scripted_server, zone, start, end, asked):
    """Both occurrences, and one second past the repeated hour at an end that would be inside it:
    bounds that happen once ask for the same rows whether TUNE compares wall times (as the sandbox
    does) or turns its bounds into instants, with either reading (TUNE's own DST handling is
    undocumented)."""
    server = scripted_server(reply_with([]))
    client = TuneClient("demo", SECRET_TOKEN, server.url, timezone=zone)
    list(client.iter_conversion_batches(pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime()))
    assert between(server.requests[0]) == asked


@pytest.mark.parametrize("in_bulk", [False, True])
def test_a_row_outside_the_range_asked_for_is_rejected_and_the_rest_stored(scripted_server, in_bulk):
    """TUNE ignoring the filter is the one reason a row's time can be refused; a repeated wall time
    whose later instant lies past the window is not refused."""
    rows = [
        stat(1, "2026-11-01 00:59:59"),
        stat(2, "2026-11-01 01:10:00"),
        stat(3, "2026-11-03 09:00:00"),
        stat(4, "2026-11-01 02:00:00"),
        stat(5, "2026-11-01 00:59:58"),
    ]
    server = scripted_server(reply_with(rows))
    client = TuneClient("demo", SECRET_TOKEN, server.url, timezone="America/New_York")
    start, end = datetime(2026, 11, 1, 5, tzinfo=UTC), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:00-01:29:59 EDT
    if in_bulk:
        (page,) = client.iter_conversion_tables(start, end)
        got = dict(zip(page.table.column("conversion_id").to_pylist(), page.table.column("converted_at").to_pylist()))
    else:
        (page,) = client.iter_conversion_batches(start, end)
        got = {c.conversion_id: c.converted_at for c in page.conversions}
    assert got == {
        1: datetime(2026, 11, 1, 4, 59, 59, tzinfo=UTC),
        2: datetime(2026, 11, 1, 6, 10, tzinfo=UTC),
        4: datetime(2026, 11, 1, 7, tzinfo=UTC),
    }
    assert [(r.conversion_id, r.reason) for r in page.rejected] == [
        (
            "3",
            "Stat.datetime is outside the requested window ('2026-11-01 00:59:59' to '2026-11-01 02:00:00', "
            "network time; TUNE ignored the filter): '2026-11-03 09:00:00'",
        ),
        (
            "5",
            "Stat.datetime is outside the requested window ('2026-11-01 00:59:59' to '2026-11-01 02:00:00', "
            "network time; TUNE ignored the filter): '2026-11-01 00:59:58'",
        ),
    ]
    assert json.loads(json.dumps(page.rejected[0].raw)) == rows[2]
