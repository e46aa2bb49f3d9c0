"""Report::getConversions over real HTTP: rows, paging math, filters in network time, the clock."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SandboxServer, SandboxWorld

from .tunecalls import Tune, between, fields

ALL_FIELDS = fields(
    "Stat.id",
    "Stat.tune_event_id",
    "Stat.ad_id",
    "Stat.datetime",
    "Stat.offer_id",
    "Stat.affiliate_id",
    "Stat.goal_id",
    "Stat.status",
    "Stat.status_code",
    "Stat.is_adjustment",
    "Stat.payout",
    "Stat.revenue",
    "Stat.sale_amount",
    "Stat.currency",
    "Stat.affiliate_info1",
    "Stat.affiliate_info2",
    "Stat.affiliate_info3",
    "Stat.affiliate_info4",
    "Stat.affiliate_info5",
    "Stat.source",
    "ConversionsMobile.affiliate_unique1",
    "ConversionsMobile.affiliate_unique2",
    "ConversionsMobile.affiliate_unique3",
    "ConversionsMobile.affiliate_unique4",
    "ConversionsMobile.affiliate_unique5",
    "Offer.name",
)


def conversions(tune: Tune, params=(), network_id="acmenet") -> dict:
    return tune.data("Report", "getConversions", [*ALL_FIELDS, *params], network_id=network_id)


def test_rows_render_the_ground_truth(tune, world):
    for network in world.networks:
        data = conversions(tune, tune.ours(network.network_id), network_id=network.network_id)
        truth = world.ground_truth_conversions(network.network_id).set_index("conversion_id")
        assert (data["page"], data["pageCount"], data["count"]) == (1, 1, len(truth))
        assert isinstance(data["data"], list) and len(data["data"]) == len(truth)
        for row in data["data"]:
            assert list(row) == ["Stat", "ConversionsMobile", "Offer"]
            stat, mobile = row["Stat"], row["ConversionsMobile"]
            expected = truth.loc[int(stat["id"])]
            local = expected.converted_at.tz_convert(network.timezone).strftime("%Y-%m-%d %H:%M:%S")
            assert stat["datetime"] == local
            assert (stat["tune_event_id"], stat["ad_id"], stat["status"]) == (
                expected.tune_event_id,
                expected.ad_id or "",
                expected.status,
            )
            assert (stat["offer_id"], stat["goal_id"], stat["affiliate_id"]) == (
                str(expected.offer_id),
                str(expected.goal_id),
                network.affiliate_id,
            )
            assert stat["status_code"] == str(expected.status_code)
            assert stat["is_adjustment"] == ("1" if expected.is_adjustment else "0")
            assert Decimal(stat["payout"]) == expected.payout and stat["payout"].endswith("000")
            assert Decimal(stat["revenue"]) == expected.revenue and Decimal(stat["sale_amount"]) == expected.sale_amount
            assert stat["currency"] == expected.currency
            assert stat["affiliate_info1"] == (expected.aff_sub or "")
            assert stat["affiliate_info3"] == (expected.aff_sub3 or "")
            assert stat["source"] == (expected.source or "")
            assert mobile["affiliate_unique1"] == (expected.affiliate_unique1 or "")
            assert row["Offer"]["name"]


def test_only_requested_models_and_fields_come_back(tune):
    data = tune.data("Report", "getConversions", [*fields("Stat.id", "Stat.payout"), ("limit", "3")])
    assert all(row == {"Stat": {"id": row["Stat"]["id"], "payout": row["Stat"]["payout"]}} for row in data["data"])


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_pagination_math_and_stable_paging(tune, limit):
    window = between("Stat.datetime", "2026-11-05 00:00:00", "2026-11-16 23:59:59")
    everything = tune.data("Report", "getConversions", [*fields("Stat.id"), *window, ("sort[Stat.id]", "asc")])
    total = everything["count"]
    assert total > 100
    pages = math.ceil(total / limit)
    ids = []
    for page in (1, 2, pages, pages + 1):
        data = tune.data(
            "Report",
            "getConversions",
            [*fields("Stat.id"), *window, ("sort[Stat.id]", "asc"), ("limit", str(limit)), ("page", str(page))],
        )
        assert (data["page"], data["current"], data["count"], data["pageCount"]) == (page, 0, total, pages)
        expected_size = 0 if page > pages else limit if page < pages else total - (pages - 1) * limit
        assert len(data["data"]) == expected_size
        ids.append([int(r["Stat"]["id"]) for r in data["data"]])
    everything_ids = [int(r["Stat"]["id"]) for r in everything["data"]]
    assert ids[0] == everything_ids[:limit] and ids[2] == everything_ids[(pages - 1) * limit :]
    assert ids[3] == []


def test_zero_rows_and_exactly_one_page(tune):
    empty = tune.data(
        "Report",
        "getConversions",
        [*fields("Stat.id"), *between("Stat.datetime", "2020-01-01", "2020-01-02"), ("limit", "50")],
    )
    assert empty == {"page": 1, "current": 0, "count": 0, "pageCount": 0, "data": []}
    window = between("Stat.datetime", "2026-11-18 00:00:00", "2026-11-18 05:59:59")
    count = tune.data("Report", "getConversions", [*fields("Stat.id"), *window])["count"]
    exact = tune.data("Report", "getConversions", [*fields("Stat.id"), *window, ("limit", str(count))])
    assert (exact["pageCount"], len(exact["data"])) == (1, count)


def test_between_is_inclusive_in_network_local_time(tune, world):
    truth = world.ground_truth_conversions("boltmedia")
    local = truth.converted_at.dt.tz_convert("Europe/Berlin").dt.strftime("%Y-%m-%d %H:%M:%S")
    low, high = local.iloc[40], local.iloc[90]
    data = tune.data(
        "Report",
        "getConversions",
        [*fields("Stat.id", "Stat.datetime"), *between("Stat.datetime", low, high), *tune.ours("boltmedia")],
        network_id="boltmedia",
    )
    got = {int(r["Stat"]["id"]) for r in data["data"]}
    assert got == set(truth.conversion_id[(local >= low) & (local <= high)])
    assert {r["Stat"]["datetime"] for r in data["data"]} >= {low, high}  # both ends included

    # The same UTC instant is a different wall time in Kolkata: the filter follows the network's zone.
    cobalt = world.ground_truth_conversions("cobaltads")
    in_kolkata = cobalt.converted_at.dt.tz_convert("Asia/Kolkata")
    day = tune.data(
        "Report",
        "getConversions",
        [
            *fields("Stat.id"),
            *between("Stat.datetime", "2026-11-10 00:00:00", "2026-11-10 23:59:59"),
            *tune.ours("cobaltads"),
        ],
        network_id="cobaltads",
    )
    assert day["count"] == int((in_kolkata.dt.strftime("%Y-%m-%d") == "2026-11-10").sum())


def test_equal_to_filters_and_totals(tune, world):
    truth = world.ground_truth_conversions("acmenet")
    offer_id = int(truth.offer_id.mode()[0])
    params = [
        *fields("Stat.id", "Stat.offer_id", "Stat.status", "Stat.payout"),
        ("filters[Stat.offer_id][conditional]", "EQUAL_TO"),
        ("filters[Stat.offer_id][values][]", str(offer_id)),
        ("filters[Stat.status][conditional]", "EQUAL_TO"),
        ("filters[Stat.status][values][]", "approved"),
        ("filters[Stat.affiliate_id][conditional]", "EQUAL_TO"),
        ("filters[Stat.affiliate_id][values][]", "1001"),
        ("totals", "1"),
        ("limit", "5"),
    ]
    data = tune.data("Report", "getConversions", params)
    expected = truth[(truth.offer_id == offer_id) & (truth.status == "approved")]
    assert data["count"] == len(expected) > 0
    assert all(r["Stat"]["offer_id"] == str(offer_id) and r["Stat"]["status"] == "approved" for r in data["data"])
    assert Decimal(data["totals"]["Stat"]["payout"]) == sum(expected.payout, Decimal(0))
    other_affiliate = [
        *fields("Stat.id"),
        ("filters[Stat.affiliate_id][conditional]", "EQUAL_TO"),
        ("filters[Stat.affiliate_id][values][]", "42"),
    ]
    assert tune.data("Report", "getConversions", other_affiliate)["data"] == []


def test_sort_descending(tune):
    data = tune.data("Report", "getConversions", [*fields("Stat.id"), ("sort[Stat.id]", "desc"), ("limit", "20")])
    ids = [int(r["Stat"]["id"]) for r in data["data"]]
    assert ids == sorted(ids, reverse=True)


def test_report_errors(tune):
    assert tune.error("Report", "getConversions") == "Missing required argument: fields"
    assert "Stat.nope" in tune.error("Report", "getConversions", fields("Stat.nope"))
    assert "10000" in tune.error("Report", "getConversions", [*fields("Stat.id"), ("limit", "10001")])
    assert tune.data("Report", "getConversions", [*fields("Stat.id"), ("limit", "10000")])["pageCount"] == 1


def test_a_network_without_mobile_fields_refuses_them_as_unknown():
    plain = replace(DEFAULT_NETWORKS[0], mobile_report_fields=False)
    world = SandboxWorld.generate(seed=8, history_days=10, conversions_per_network=300, networks=(plain,))
    with SandboxServer(world) as server:
        tune = Tune(server)
        unique = "ConversionsMobile.affiliate_unique1"
        assert tune.error("Report", "getConversions", fields("Stat.id", unique)) == f"Invalid field: {unique}"
        assert tune.error("Report", "getConversions", [*fields("Stat.id"), (f"sort[{unique}]", "asc")]) == (
            f"Invalid sort field: {unique}"
        )
        assert tune.error("Report", "getConversions", [*fields("Stat.id"), *between(unique, "a", "b")]) == (
            f"Invalid filter field: {unique}"
        )
        stat_only = [name for _, name in ALL_FIELDS if not name.startswith("ConversionsMobile.")]
        data = tune.data("Report", "getConversions", [*fields(*stat_only), *tune.ours()])
    assert data["count"] == len(world.ground_truth_conversions(plain.network_id)) > 0
    assert all(list(row) == ["Stat", "Offer"] for row in data["data"])


def test_clock_reveals_conversions_and_changes_statuses():
    world = SandboxWorld.generate(
        seed=8, anchor=pd.Timestamp("2026-11-20T12:00Z").to_pydatetime(), history_days=10, conversions_per_network=300
    )
    with SandboxServer(world) as server:
        tune = Tune(server)
        before = conversions(tune)
        world.clock.advance(timedelta(days=2))
        after = conversions(tune)
    assert after["count"] > before["count"]
    clock_in_new_york = pd.Timestamp(world.anchor).tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M:%S")
    assert max(r["Stat"]["datetime"] for r in before["data"]) <= clock_in_new_york
    status_before = {r["Stat"]["id"]: r["Stat"]["status"] for r in before["data"]}
    status_after = {r["Stat"]["id"]: r["Stat"]["status"] for r in after["data"]}
    changed = {(status_before[i], status_after[i]) for i in status_before if status_before[i] != status_after[i]}
    assert ("pending", "approved") in changed or ("pending", "rejected") in changed


@pytest.mark.slow
def test_paging_a_100k_network_stays_fast():
    world = SandboxWorld.generate(
        seed=1,
        anchor=pd.Timestamp("2026-11-20T12:00Z").to_pydatetime(),
        networks=DEFAULT_NETWORKS[:1],
        conversions_per_network=100_000,
    )
    with SandboxServer(world) as server:
        tune = Tune(server)
        started = time.perf_counter()
        data = tune.data(
            "Report",
            "getConversions",
            [
                *ALL_FIELDS,
                *between("Stat.datetime", "2026-11-01", "2026-11-20 23:59:59"),
                ("sort[Stat.id]", "asc"),
                ("limit", "10000"),
                ("page", "3"),
            ],
        )
        elapsed = time.perf_counter() - started
    print(f"\none 10,000-row page of a 100k-conversion network in {elapsed:.2f} s")
    assert len(data["data"]) == 10_000 and data["count"] > 30_000
    assert elapsed < 10


def test_the_network_reports_every_partners_conversions_and_filters_by_affiliate(tune, world):
    """The Network API answers for the whole network: other affiliates' conversions come too, unless
    the report is filtered on Stat.affiliate_id (what the pipeline's sweeps ask for)."""
    for network in world.networks:
        everyone = conversions(tune, network_id=network.network_id)["data"]
        ours = conversions(tune, tune.ours(network.network_id), network_id=network.network_id)["data"]
        truth = world.ground_truth_conversions(network.network_id)
        affiliates = {row["Stat"]["affiliate_id"] for row in everyone}
        assert network.affiliate_id in affiliates and len(affiliates) > 1
        assert {row["Stat"]["affiliate_id"] for row in ours} == {network.affiliate_id}
        assert sorted(int(row["Stat"]["id"]) for row in ours) == sorted(truth.conversion_id)
        # Theirs are unknown to Trackly: no ad_id is a Trackly click, no sub-id a click or message id.
        theirs = [row["Stat"] for row in everyone if row["Stat"]["affiliate_id"] != network.affiliate_id]
        known = set(world.clicks_frame().click_id) | set(world.messages_frame().message_id)
        assert not known & {
            value for stat in theirs for value in (stat["ad_id"], stat["affiliate_info1"], stat["affiliate_info3"])
        }
