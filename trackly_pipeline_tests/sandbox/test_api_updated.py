"""Conversion::findUpdatedConversions over real HTTP: which conversions, their state, the id-keyed shape."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from trackly_pipeline.sandbox import SandboxServer, SandboxWorld
from trackly_pipeline.sandbox.conversion_api import CONVERSION_FIELDS

from .conftest import ANCHOR
from .tunecalls import Tune


@pytest.fixture(scope="module")
def moved():
    world = SandboxWorld.generate(seed=8, anchor=ANCHOR, history_days=20, conversions_per_network=600)
    world.clock.advance(timedelta(days=2))
    with SandboxServer(world) as server:
        yield world, Tune(server, "boltmedia")


def local(moment: pd.Timestamp, zone="Europe/Berlin") -> str:
    return moment.tz_convert(zone).strftime("%Y-%m-%d %H:%M:%S")


def expected_ids(world, network_id, start: str, end: str) -> set[int]:
    """Plain-Python reading of the status history: changes after creation, in range, not after the clock
    (every partner's conversions: the Network API's model methods see the whole network)."""
    table = world.conversions(network_id)
    zone, clock = table.network.timezone, world.clock.epoch_seconds()
    ids = set()
    for row in range(len(table)):
        for at in table.state_at[row, 1:].tolist():
            if at <= clock and start <= local(pd.Timestamp(at, unit="s", tz="UTC"), zone) <= end:
                ids.add(int(table.conversion_id[row]))
    return ids


def test_updated_conversions_in_range_with_state_at_clock(moved):
    world, tune = moved
    clock = pd.Timestamp(world.clock.now())
    start, end = local(clock - pd.Timedelta(days=5)), local(clock)
    data = tune.data("Conversion", "findUpdatedConversions", [("start_date", start), ("end_date", end)])
    assert isinstance(data, dict) and len(data) > 20
    assert set(map(int, data)) == expected_ids(world, "boltmedia", start, end)
    truth = world.ground_truth_conversions("boltmedia").set_index("conversion_id")
    partners = {model["affiliate_id"] for model in (entry["Conversion"] for entry in data.values())} - {"2002"}
    assert partners, "other affiliates' conversions are in the network's answer too"
    for key, entry in data.items():
        model = entry["Conversion"]
        assert list(entry) == ["Conversion"] and tuple(model) == CONVERSION_FIELDS and model["id"] == key
        if model["affiliate_id"] != "2002":
            continue  # not ours: in no ground truth
        expected = truth.loc[int(key)]
        assert (model["status"], Decimal(model["payout"]), model["ad_id"]) == (
            expected.status,
            expected.payout,
            expected.ad_id,
        )
        assert model["datetime"] == local(expected.converted_at) and model["currency"] == expected.currency
    # both ends inclusive; a date-only end_date means the whole day
    assert set(
        map(
            int, tune.data("Conversion", "findUpdatedConversions", [("start_date", start[:10]), ("end_date", end[:10])])
        )
    ) == expected_ids(world, "boltmedia", start[:10] + " 00:00:00", end[:10] + " 23:59:59")


def test_paging_fields_and_empty(moved):
    world, tune = moved
    clock = pd.Timestamp(world.clock.now())
    window = [("start_date", local(clock - pd.Timedelta(days=10))), ("end_date", local(clock))]
    everything = tune.data("Conversion", "findUpdatedConversions", window)
    page = tune.data(
        "Conversion",
        "findUpdatedConversions",
        [*window, ("limit", "7"), ("page", "2"), ("fields[]", "id"), ("fields[]", "status")],
    )
    assert (page["page"], page["current"], page["count"], page["pageCount"]) == (
        2,
        0,
        len(everything),
        -(-len(everything) // 7),
    )
    ids = sorted(everything, key=int)
    assert list(page["data"]) == ids[7:14]
    assert all(
        v == {"Conversion": {"id": k, "status": everything[k]["Conversion"]["status"]}} for k, v in page["data"].items()
    )
    future = [("start_date", local(clock + pd.Timedelta(hours=1))), ("end_date", local(clock + pd.Timedelta(days=9)))]
    assert tune.data("Conversion", "findUpdatedConversions", future) == []
    assert tune.data("Conversion", "findUpdatedConversions", [*future, ("limit", "5")])["data"] == []
    assert (
        tune.error("Conversion", "findUpdatedConversions", [("end_date", "2026-11-01")])
        == "Missing required argument: start_date"
    )
    assert (
        tune.error("Conversion", "findUpdatedConversions", [("start_date", "nope"), ("end_date", "2026-11-01")])
        == "Invalid start_date: nope"
    )
