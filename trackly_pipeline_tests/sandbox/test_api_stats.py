"""Report::getStats over real HTTP against world.ground_truth_stats (computed independently)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd

from trackly_pipeline.sandbox import SandboxServer, SandboxWorld

from .conftest import ANCHOR
from .tunecalls import Tune, between, fields

BY_DAY_OFFER = [("groups[]", "Stat.date"), ("groups[]", "Stat.offer_id"), ("groups[]", "Stat.currency")]
METRICS = (
    "Stat.clicks",
    "Stat.conversions",
    "Stat.payout",
    "Stat.revenue",
    "Stat.sale_amount",
    "Stat.approved_payout",
    "Stat.pending_conversions",
    "Stat.pending_payout",
)


def stats(tune, params, network_id="acmenet"):
    """Our affiliate's stats, as the ground truth has them (the network also reports other partners')."""
    return tune.data("Report", "getStats", [*params, *tune.ours(network_id)], network_id=network_id)


def as_truth(rows) -> dict:
    out = {}
    for row in rows:
        s = row["Stat"]
        out[(s["date"], int(s["offer_id"]), s["currency"])] = (
            int(s["clicks"]),
            int(s["conversions"]),
            Decimal(s["payout"]),
            Decimal(s["revenue"]),
            Decimal(s["sale_amount"]),
            int(s["pending_conversions"]),
            Decimal(s["pending_payout"]),
        )
        assert s["approved_payout"] == s["payout"]
    return out


def truth_dict(frame: pd.DataFrame) -> dict:
    return {
        (r.date.isoformat(), r.offer_id, r.currency): (
            r.clicks,
            r.conversions,
            r.payout,
            r.revenue,
            r.sale_amount,
            r.pending_conversions,
            r.pending_payout,
        )
        for r in frame.itertuples()
    }


def test_stats_by_day_offer_currency_match_ground_truth(tune, world):
    for network in world.networks:
        data = stats(
            tune, [*fields("Stat.date", "Stat.offer_id", "Stat.currency", *METRICS), *BY_DAY_OFFER], network.network_id
        )
        truth = world.ground_truth_stats(network.network_id)
        assert (data["page"], data["pageCount"], data["count"]) == (1, 1, len(truth))
        assert as_truth(data["data"]) == truth_dict(truth)
        assert truth.clicks.sum() > 0 and truth.conversions.sum() > 0


def test_stats_semantics_approved_only_and_network_local_date(tune, world):
    conversions = world.ground_truth_conversions("cobaltads")
    approved = conversions[conversions.status == "approved"]
    data = stats(
        tune, [*fields("Stat.conversions", "Stat.payout", "Stat.currency"), ("groups[]", "Stat.currency")], "cobaltads"
    )
    got = {r["Stat"]["currency"]: r["Stat"] for r in data["data"]}
    for currency, group in approved.groupby("currency"):
        assert int(got[currency]["conversions"]) == int((~group.is_adjustment).sum())
        assert Decimal(got[currency]["payout"]) == sum(group.payout, Decimal(0))
    day = "2026-11-10"
    in_kolkata = approved.converted_at.dt.tz_convert("Asia/Kolkata").dt.strftime("%Y-%m-%d") == day
    one_day = stats(tune, [*fields("Stat.conversions"), *between("Stat.date", day, day)], "cobaltads")
    assert one_day["data"] == [{"Stat": {"conversions": str(int((in_kolkata & ~approved.is_adjustment).sum()))}}]


def test_filters_paging_sort_and_totals(tune, world):
    truth = world.ground_truth_stats("boltmedia")
    offer_id = int(truth.groupby("offer_id").clicks.sum().idxmax())
    window = between("Stat.date", "2026-11-05", "2026-11-15")
    params = [
        *fields("Stat.date", "Stat.offer_id", "Stat.clicks", "Stat.payout"),
        ("groups[]", "Stat.date"),
        ("groups[]", "Stat.offer_id"),
        *window,
        ("filters[Stat.offer_id][conditional]", "EQUAL_TO"),
        ("filters[Stat.offer_id][values][]", str(offer_id)),
        ("sort[Stat.date]", "desc"),
        ("totals", "1"),
    ]
    expected = truth[
        (truth.offer_id == offer_id)
        & (truth.date.astype(str) >= "2026-11-05")
        & (truth.date.astype(str) <= "2026-11-15")
    ]
    expected = (
        expected.groupby("date").agg(clicks=("clicks", "sum"), payout=("payout", "sum")).sort_index(ascending=False)
    )
    everything = stats(tune, params, "boltmedia")
    assert everything["count"] == len(expected) > 3
    assert [r["Stat"]["date"] for r in everything["data"]] == [d.isoformat() for d in expected.index]
    assert [int(r["Stat"]["clicks"]) for r in everything["data"]] == expected.clicks.tolist()
    assert everything["totals"]["Stat"] == {
        "clicks": str(expected.clicks.sum()),
        "payout": f"{sum(expected.payout, Decimal(0)):.2f}000",
    }
    page2 = stats(tune, [*params, ("limit", "2"), ("page", "2")], "boltmedia")
    assert (page2["page"], page2["count"], page2["pageCount"]) == (2, len(expected), -(-len(expected) // 2))
    assert page2["data"] == everything["data"][2:4]
    empty = stats(tune, [*fields("Stat.clicks"), *between("Stat.date", "2020-01-01", "2020-01-02"), ("limit", "10")])
    assert empty == {"page": 1, "current": 0, "count": 0, "pageCount": 0, "data": []}


def test_stats_errors(tune):
    assert tune.error("Report", "getStats") == "Missing required argument: fields"
    assert tune.error("Report", "getStats", fields("Stat.nope")) == "Invalid field: Stat.nope"
    assert (
        tune.error("Report", "getStats", [*fields("Stat.clicks"), ("groups[]", "Stat.payout")])
        == "Invalid group: Stat.payout"
    )
    assert "Stat.payout" in tune.error(
        "Report", "getStats", [*fields("Stat.clicks"), *between("Stat.payout", "1", "2")]
    )


def test_stats_follow_the_clock():
    world = SandboxWorld.generate(seed=8, anchor=ANCHOR, history_days=10, conversions_per_network=300)
    params = [*fields("Stat.date", "Stat.offer_id", "Stat.currency", *METRICS), *BY_DAY_OFFER]
    with SandboxServer(world) as server:
        tune = Tune(server)
        before = as_truth(stats(tune, params)["data"])
        truth_before = truth_dict(world.ground_truth_stats("acmenet"))
        world.clock.advance(timedelta(days=2))
        after = as_truth(stats(tune, params)["data"])
    assert before == truth_before
    assert (
        after
        == truth_dict(world.ground_truth_stats("acmenet"))
        == truth_dict(world.ground_truth_stats("acmenet", ANCHOR + timedelta(days=2)))
    )
    assert truth_dict(world.ground_truth_stats("acmenet", ANCHOR)) == before != after
