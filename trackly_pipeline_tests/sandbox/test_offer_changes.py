"""Offers that change after the anchor: Offer::findAll/findById and the ground truth follow the clock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from trackly_pipeline.sandbox import SandboxServer, SandboxWorld

from .conftest import ANCHOR
from .tunecalls import Tune


def test_offer_sync_before_and_after_a_clock_advance_sees_the_changes():
    world = SandboxWorld.generate(seed=8, anchor=ANCHOR, history_days=5, conversions_per_network=100)
    changes = world.offer_changes("acmenet")
    assert [c.kind for c in changes] == ["payout", "status", "name", "offer_url", "status"]
    assert all(c.at > ANCHOR.timestamp() for c in changes)
    with SandboxServer(world) as server:
        tune = Tune(server)
        before = tune.data("Offer", "findAll")
        truth_before = world.ground_truth_offers("acmenet").set_index("offer_id")
        world.clock.advance(timedelta(days=1, hours=1))
        after = tune.data("Offer", "findAll")
        truth_after = world.ground_truth_offers("acmenet").set_index("offer_id")
        one = tune.data("Offer", "findById", [("id", str(changes[2].offer_id))])
        report = tune.data("Report", "getConversions", [("fields[]", "Stat.offer_id"), ("fields[]", "Offer.name")])
        world.clock.advance(timedelta(days=2))
        final = tune.data("Offer", "findAll")

    differing = {k for k in before if before[k] != after[k]}
    assert differing == {str(c.offer_id) for c in changes[:3]}
    payout, paused, renamed = changes[0], changes[1], changes[2]
    assert Decimal(after[str(payout.offer_id)]["Offer"]["default_payout"]) > Decimal(
        before[str(payout.offer_id)]["Offer"]["default_payout"]
    )
    assert after[str(paused.offer_id)]["Offer"]["status"] == "paused" != before[str(paused.offer_id)]["Offer"]["status"]
    assert after[str(renamed.offer_id)]["Offer"]["name"].endswith(" [v2]")
    assert after[str(payout.offer_id)]["Offer"]["modified"] == payout.at
    assert one["Offer"]["name"] == after[str(renamed.offer_id)]["Offer"]["name"]
    assert {r["Offer"]["name"] for r in report["data"] if r["Stat"]["offer_id"] == str(renamed.offer_id)} <= {
        one["Offer"]["name"]
    }

    for offers, truth in ((before, truth_before), (after, truth_after)):
        for key, entry in offers.items():
            row = truth.loc[int(key)]
            model = entry["Offer"]
            assert (model["name"], model["status"], model["offer_url"]) == (row["name"], row.status, row.offer_url)
            assert Decimal(model["default_payout"]) == row.default_payout
    moved, restored = changes[3], changes[4]
    assert final[str(moved.offer_id)]["Offer"]["offer_url"] != before[str(moved.offer_id)]["Offer"]["offer_url"]
    assert final[str(restored.offer_id)]["Offer"]["status"] == before[str(restored.offer_id)]["Offer"]["status"]
    assert world.ground_truth_offers("acmenet", ANCHOR).set_index("offer_id").equals(truth_before)
