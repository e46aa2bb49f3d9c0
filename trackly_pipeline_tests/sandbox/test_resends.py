"""Re-sends (resends.py): for a day after the anchor the sandbox serves a few stored conversions with
one value respelled, unreadable but for a capitalized status; the ground truth says what the
pipeline should hold then (the last good state), `as_served` what TUNE serves; nothing else of the
world changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from trackly_pipeline.sandbox import SandboxServer, SandboxWorld
from trackly_pipeline.sandbox import world as world_module
from trackly_pipeline.sandbox.resends import RESEND_KINDS
from trackly_pipeline.tune.models import CONVERSION_STATUSES

from .conftest import ANCHOR
from .test_api_report import conversions
from .tunecalls import Tune

KINDS = [kind for kind, _ in RESEND_KINDS]


def generate(**overrides) -> SandboxWorld:
    return SandboxWorld.generate(
        **{"seed": 8, "anchor": ANCHOR, "history_days": 20, "conversions_per_network": 600, **overrides}
    )


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    return generate()


def moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_each_network_has_one_resend_of_each_kind_after_the_anchor_and_before_its_last_day(world):
    anchor = int(ANCHOR.timestamp())
    for network in world.networks:
        table = world.conversions(network.network_id)
        resends = table.resends
        assert [r.kind for r in resends] == KINDS
        stored = world.ground_truth_conversions(network.network_id, ANCHOR).set_index("conversion_id")
        for r in resends:
            assert anchor + 13 * 3600 <= r.start and r.end <= anchor + (world.future_days * 24 - 12) * 3600
            assert r.conversion_id in stored.index  # ours, visible at the anchor: a sync then stores it
            assert stored.converted_at[r.conversion_id] >= ANCHOR - timedelta(days=4)
    # the same seed, the same plan; a world with too short a future has none
    assert [w.conversions("acmenet").resends for w in (world, generate())] == [world.conversions("acmenet").resends] * 2
    assert generate(future_days=1).conversions("acmenet").resends == ()


def test_planning_them_changes_nothing_else(world, monkeypatch):
    monkeypatch.setattr(world_module, "plan_resends", lambda rng, table, anchor, future_days: table)
    plain = generate()
    later = ANCHOR + timedelta(days=3)
    for as_of in (ANCHOR, later):
        pd.testing.assert_frame_equal(
            world.ground_truth_conversions(as_of=as_of, as_served=True), plain.ground_truth_conversions(as_of=as_of)
        )
    for network in world.networks:
        pd.testing.assert_frame_equal(
            world.ground_truth_stats(network.network_id, later), plain.ground_truth_stats(network.network_id, later)
        )


def test_served_respelled_in_their_period_and_held_in_the_ground_truth(world):
    network = world.network("acmenet")
    resends = {r.kind: r for r in world.conversions("acmenet").resends}
    during = moment(max(r.start for r in resends.values()) + 3600)
    assert all(r.active(int(during.timestamp())) for r in resends.values())
    after = moment(max(r.end for r in resends.values()) + 3600)
    with SandboxServer(world) as server:
        tune = Tune(server)
        rows = {}
        for clock in (ANCHOR, during, after):
            world.clock.set(clock)
            rows[clock] = {int(r["Stat"]["id"]): r for r in conversions(tune, tune.ours())["data"]}
        world.clock.set(ANCHOR)

    def stat(clock, kind, field):
        return rows[clock][resends[kind].conversion_id]["Stat"][field]

    # outside the period every value is TUNE's canonical text; inside it one is respelled
    assert stat(during, "payout_6_decimals", "payout") == stat(ANCHOR, "payout_6_decimals", "payout") + "1"
    assert len(stat(during, "payout_6_decimals", "payout").split(".")[1]) == 6
    assert (
        stat(during, "sale_amount_6_decimals", "sale_amount")
        == stat(ANCHOR, "sale_amount_6_decimals", "sale_amount") + "1"
    )
    assert network.message_id_field == "aff_sub"
    assert (
        stat(during, "sub_id_lone_surrogate", "affiliate_info1")
        == stat(ANCHOR, "sub_id_lone_surrogate", "affiliate_info1") + "\ud800"
    )
    assert stat(during, "status_capitalized", "status") == stat(after, "status_capitalized", "status").capitalize()
    assert stat(during, "status_capitalized", "status") not in CONVERSION_STATUSES
    for kind in KINDS:  # readable again after the period
        assert stat(after, kind, "payout").endswith("000") and stat(after, kind, "status") in CONVERSION_STATUSES
        assert stat(after, kind, "affiliate_info1").isprintable()
    others = set(rows[during]) - {r.conversion_id for r in resends.values()}
    assert all(rows[during][i] == rows[after][i] or rows[during][i]["Stat"]["payout"].endswith("000") for i in others)

    # the ground truth: the last good state while unreadable (TUNE approved the first one meanwhile)
    held = world.ground_truth_conversions("acmenet", during).set_index("conversion_id")
    served = world.ground_truth_conversions("acmenet", during, as_served=True).set_index("conversion_id")
    at_anchor = world.ground_truth_conversions("acmenet", ANCHOR).set_index("conversion_id")
    for kind, readable in RESEND_KINDS:
        conversion_id = resends[kind].conversion_id
        expected = served if readable else at_anchor
        assert (held.status[conversion_id], held.payout[conversion_id]) == (
            expected.status[conversion_id],
            expected.payout[conversion_id],
        )
    first = resends["payout_6_decimals"].conversion_id
    assert (at_anchor.status[first], served.status[first]) == ("pending", "approved")
    assert Decimal(rows[during][first]["Stat"]["payout"][:-1]) == served.payout[first]
    different = (held.status != served.status) | (held.payout != served.payout)
    assert set(held.index[different]) == {first}
    pd.testing.assert_frame_equal(
        world.ground_truth_conversions("acmenet", after),
        world.ground_truth_conversions("acmenet", after, as_served=True),
    )
