"""Hostile API rows: valid ones are stored verbatim, the others land in ops.quarantine with a
reason, and the rest of the sweep is kept."""

from __future__ import annotations

import json

import pytest

from trackly_pipeline.sandbox import HOSTILE_ROW_CASES, FaultRule

from .test_faults import assert_matches_ground_truth

pytestmark = pytest.mark.slow


def test_hostile_rows_are_quarantined_or_stored_verbatim(project):
    project.rebuild(acme={"page_size": 100})
    project.server.add_fault(FaultRule("hostile_rows", page=2, times=None))
    assert project.sync("acme").success

    invalid = sum(not valid for _, valid in HOSTILE_ROW_CASES)
    quarantined = project.query("SELECT record_id, reason, raw_json FROM ops.quarantine WHERE network = 'acme'")
    assert len(quarantined) == invalid
    reasons = " | ".join(reason for _, reason, _ in quarantined)
    for word in ("Stat.id", "Stat.datetime", "payout", "currency", "status", "duplicate"):
        assert word in reasons, word
    for _, _, raw in quarantined:
        json.loads(raw)  # the raw row is kept, as received

    # the valid hostile rows are stored verbatim, however long or strange
    long_sub = project.query("SELECT max(length(aff_sub)) FROM tune.conversions WHERE network = 'acme'")[0][0]
    assert long_sub == 10_000
    strange = project.query("SELECT aff_sub FROM tune.conversions WHERE aff_sub LIKE '%DROP TABLE%'")
    assert strange and "'" in strange[0][0] and "😀" in strange[0][0]

    # the sweep's real rows are all there: the window equals the ground truth once the two valid
    # hostile rows (not part of the sandbox's truth) are set aside
    hostile_ids = {
        r[0] for r in project.query("SELECT conversion_id FROM tune.conversions WHERE conversion_id >= 900000000")
    }
    assert len(hostile_ids) == len(HOSTILE_ROW_CASES) - invalid
    project.query("SELECT 1")  # the warehouse still opens and answers
    with_hostile = project.query("SELECT count(*) FROM analytics.attributed_conversions WHERE network = 'acme'")[0][0]
    assert with_hostile > 0
    assert_matches_ground_truth(project, "acme", ignore=hostile_ids)


def test_an_unreadable_offer_row_is_quarantined_and_the_catalog_kept(project):
    """The hostile_offers fault over HTTP, through the offers asset: each offer the catalog cannot hold
    (id not a number or beyond BIGINT, a 6-decimal payout, a lone surrogate in the name, ...) is
    quarantined with a reason naming the field, and the real offers and the valid odd ones are stored."""
    from trackly_pipeline.defs.assets.offers import offers_asset_key
    from trackly_pipeline.sandbox.hostile import HOSTILE_OFFER_CASES, hostile_offer_id

    project.server.add_fault(FaultRule("hostile_offers", times=None))
    job = project.defs.get_implicit_global_asset_job_def()
    assert job.execute_in_process(instance=project.instance, asset_selection=[offers_asset_key("acme")]).success
    valid = {int(hostile_offer_id(label)) for label, ok in HOSTILE_OFFER_CASES if ok}
    stored = {r[0] for r in project.query("SELECT offer_id FROM tune.offers WHERE network = 'acme'")}
    assert stored == set(project.world.ground_truth_offers("acmenet").offer_id) | valid
    quarantined = {
        record_id: (kind, reason, json.loads(raw))
        for kind, record_id, reason, raw in project.query(
            "SELECT kind, record_id, reason, raw_json FROM ops.quarantine WHERE network = 'acme'"
        )
    }
    field = {
        "id_not_a_number": "Offer.id",
        "id_beyond_int64": "Offer.id",
        "name_lone_surrogate": "Offer.name",
        "default_payout_6_decimals": "Offer.default_payout",
        "advertiser_id_beyond_int64": "Offer.advertiser_id",
    }
    invalid = [label for label, ok in HOSTILE_OFFER_CASES if not ok]
    assert quarantined.keys() == {hostile_offer_id(label) for label in invalid}
    for label in invalid:
        kind, reason, _ = quarantined[hostile_offer_id(label)]
        assert kind == "offer" and reason.startswith(field[label] + " "), (label, reason)
    assert "☃" in quarantined["not-a-number"][2]["Offer"]["name"]
    surrogate = quarantined[hostile_offer_id("name_lone_surrogate")][2]["Offer"]["name"]
    assert surrogate == "Broken \\ud800 offer"  # kept as received, the lone surrogate as its escape
    # the valid odd ones: an expiration in a DST gap (not stored), a payout sent as a JSON number
    payout = project.query(
        "SELECT payout FROM tune.offers WHERE offer_id = $id",
        {"id": int(hostile_offer_id("default_payout_json_number"))},
    )[0][0]
    assert str(payout) == "12.34567"
