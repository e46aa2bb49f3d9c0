"""Hostile API rows: valid ones are stored verbatim, the others land in ops.quarantine with a
reason, and the rest of the sweep is kept."""

from __future__ import annotations

import json

from trackly_pipeline.sandbox import HOSTILE_ROW_CASES, FaultRule

from .test_faults import assert_matches_ground_truth


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
    hostile_ids = {r[0] for r in project.query(
        "SELECT conversion_id FROM tune.conversions WHERE conversion_id >= 900000000")}
    assert len(hostile_ids) == len(HOSTILE_ROW_CASES) - invalid
    project.query("SELECT 1")  # the warehouse still opens and answers
    with_hostile = project.query("SELECT count(*) FROM analytics.attributed_conversions WHERE network = 'acme'")[0][0]
    assert with_hostile > 0
    assert_matches_ground_truth(project, "acme", ignore=hostile_ids)



def test_an_unreadable_offer_row_is_quarantined_and_the_catalog_kept(project):
    from trackly_pipeline.defs.assets.offers import offers_asset_key

    project.server.add_fault(FaultRule("hostile_offers", times=None))
    job = project.defs.get_implicit_global_asset_job_def()
    assert job.execute_in_process(instance=project.instance, asset_selection=[offers_asset_key("acme")]).success
    stored = {r[0] for r in project.query("SELECT offer_id FROM tune.offers WHERE network = 'acme'")}
    assert stored == set(project.world.ground_truth_offers("acmenet").offer_id)
    (kind, record_id, reason, raw), = project.query(
        "SELECT kind, record_id, reason, raw_json FROM ops.quarantine WHERE network = 'acme'")
    assert (kind, record_id) == ("offer", "not-a-number") and "id" in reason
    assert "☃" in json.loads(raw)["Offer"]["name"]
