"""Payout-mismatch diagnosis against the sandbox's generation: per-affiliate custom payouts (and
staff payout edits) are 'custom payout per affiliate', non-flat offers 'payout type', conversions
paid an offer's earlier default payout 'stale offer sync', a conversion currency other than the
offer's 'currency'. The expectation is computed here from the ground truth, not with the SQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest

from trackly_pipeline.defs.assets.payout_mismatches import CHECK_NAME, PAYOUT_MISMATCHES
from trackly_pipeline.sandbox import SandboxWorld

from .conftest import ANCHOR, make_project

pytestmark = pytest.mark.slow


def payout_raise(world: SandboxWorld):
    [change] = [c for c in world.offer_changes("acmenet") if c.kind == "payout"]
    return change


@pytest.fixture
def flat_raise_project(tmp_path, monkeypatch):
    """A project over a world whose scheduled payout raise (on acme) is on a cpa_flat offer (with the
    default seed it is on a cpa_both offer, whose amounts depend on the sale anyway)."""
    for seed in range(1, 50):
        world = SandboxWorld.generate(seed=seed, anchor=ANCHOR, history_days=20, conversions_per_network=800)
        offers = world.ground_truth_offers("acmenet").set_index("offer_id")
        if offers.loc[payout_raise(world).offer_id, "payout_type"] == "cpa_flat":
            break
    server, project = make_project(world, tmp_path, monkeypatch)
    yield project
    server.stop()


def rebuild(project) -> dg.AssetCheckEvaluation:
    job = project.defs.get_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=project.instance, asset_selection=[PAYOUT_MISMATCHES], raise_on_error=False
    )
    assert result.success
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME]
    return check


def stored(project, key: str) -> dict:
    return {
        (offer_id, currency, cause): (n, low, high)
        for offer_id, currency, cause, n, low, high in project.query(
            "SELECT offer_id, conversion_currency, likely_cause, conversions, min_paid, max_paid "
            "FROM analytics.payout_mismatches WHERE network = $network",
            {"network": key},
        )
    }


def expected(project, key: str, network_id: str, offers_as_of: datetime, default_currency: str | None = None) -> dict:
    """From the sandbox: the offers as TUNE served them at our offer sync, its scheduled payout edits,
    and the conversions we hold (raw rows)."""
    world = project.world
    offers = world.ground_truth_offers(network_id, as_of=offers_as_of).set_index("offer_id")
    earlier = defaultdict(set)  # payouts an offer had before an edit we synced
    for change in world.offer_changes(network_id):
        if change.kind == "payout" and change.at <= offers_as_of.timestamp():
            before = datetime.fromtimestamp(change.at - 1, UTC)
            earlier[change.offer_id].add(
                world.ground_truth_offers(network_id, as_of=before)
                .set_index("offer_id")
                .loc[change.offer_id, "default_payout"]
            )
    groups = defaultdict(list)
    for offer_id, currency, payout in project.query(
        "SELECT offer_id, currency, payout FROM tune.conversions WHERE network = $network AND NOT is_adjustment",
        {"network": key},
    ):
        offer = offers.loc[offer_id]
        offer_currency = default_currency if pd.isna(offer.currency) else offer.currency
        if payout == offer.default_payout and (offer_currency is None or currency == offer_currency):
            continue
        if offer_currency is not None and currency != offer_currency:
            cause = "currency"
        elif offer.payout_type != "cpa_flat":
            cause = "payout type"
        elif payout in earlier[offer_id]:
            cause = "stale offer sync"
        else:
            cause = "custom payout per affiliate"
        groups[(offer_id, currency, cause)].append(payout)
    return {group: (len(paid), min(paid), max(paid)) for group, paid in groups.items()}


def test_custom_payouts_and_payout_types_are_told_apart(synced):
    project = synced("acme")
    check = rebuild(project)
    mine = stored(project, "acme")
    assert mine == expected(project, "acme", "acmenet", project.world.clock.now())
    causes = {cause for _, _, cause in mine}
    assert causes == {"custom payout per affiliate", "payout type"}
    # the sandbox pays ~8% of conversions a custom amount (plus ~4% payout edits) on flat offers
    flat = project.query(
        "SELECT count(*) FROM tune.conversions JOIN tune.offers USING (network, offer_id) "
        "WHERE network = 'acme' AND payout_type = 'cpa_flat' AND NOT is_adjustment"
    )[0][0]
    custom = sum(n for (_, _, cause), (n, _, _) in mine.items() if cause == "custom payout per affiliate")
    assert 0.04 < custom / flat < 0.2
    # nothing to act on: the check passes but lists them
    assert check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["offers: custom payout per affiliate"].value > 0
    assert "custom payout per affiliate" in check.metadata["mismatches"].value
    row = project.query(
        "SELECT offer_name, offer_payout, typical_paid, min_paid, max_paid, computed_at "
        "FROM analytics.payout_mismatches WHERE network = 'acme' LIMIT 1"
    )[0]
    assert row[0].startswith("ACME ") and row[3] <= row[2] <= row[4] and row[5] is not None


def test_conversions_paid_the_offers_earlier_payout_are_a_stale_offer_sync(flat_raise_project):
    project = flat_raise_project
    world = project.world
    raise_ = payout_raise(world)
    assert project.sync("acme").success
    world.clock.set(datetime.fromtimestamp(raise_.at, UTC) + timedelta(minutes=30))
    assert project.sync("acme").success  # the offer sync sees the raise; conversions keep the old amount
    check = rebuild(project)
    mine = stored(project, "acme")
    assert mine == expected(project, "acme", "acmenet", world.clock.now())
    stale = {offer_id for offer_id, _, cause in mine if cause == "stale offer sync"}
    assert stale == {raise_.offer_id}
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["offers: stale offer sync"].value == 1


def test_a_conversion_currency_other_than_the_offers_is_a_currency_mismatch(project):
    # the sandbox pays offers without a currency in the network's USD; configure GBP as ours
    project.rebuild(acme={"default_currency": "GBP"})
    assert project.sync("acme").success
    check = rebuild(project)
    mine = stored(project, "acme")
    assert mine == expected(project, "acme", "acmenet", project.world.clock.now(), default_currency="GBP")
    truth = project.world.ground_truth_offers("acmenet")
    without_currency = set(truth[truth.currency.isna()].offer_id)
    currency_offers = {offer_id for offer_id, _, cause in mine if cause == "currency"}
    assert currency_offers and currency_offers <= without_currency
    assert not check.passed
