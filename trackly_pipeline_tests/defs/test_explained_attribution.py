"""Explained attribution: Trackly's rules (first click, per-offer attribution window) and a reason
with the raw values for every unattributed conversion, against an independent oracle."""

from __future__ import annotations

from trackly_pipeline.sandbox.expected import expected_attribution

from .test_pipeline_ground_truth import NETWORKS, window_truth


def stored_attribution(project) -> dict:
    rows = project.query(
        "SELECT network, conversion_id, attribution_method, click_id, message_id, unattributed_reason, creative_id, "
        "looked_at_ad_id, looked_at_field, looked_at_sub_id, attribution_window_days "
        "FROM analytics.attributed_conversions")
    return {(r[0], r[1]): r[2:] for r in rows}


def assert_matches_oracle(project, expected) -> None:
    stored = stored_attribution(project)
    assert len(stored) == len(expected)
    for row in expected.itertuples():
        method, click_id, message_id, reason, creative_id, *_ = stored[(row.network_key, row.conversion_id)]
        assert (method, message_id, reason) == (row.expected_method, row.expected_message_id, row.expected_reason), row
        assert (click_id, creative_id) == (row.expected_click_id, row.expected_creative_id), row


def test_default_rules_and_reasons(project):
    for key in NETWORKS:
        assert project.sync(key).success
    expected = expected_attribution(project.world, window_truth(project))
    assert_matches_oracle(project, expected)
    reasons = {r for r in expected.expected_reason if r}
    assert {"no click for the ad_id", "sub-id not an 8-character id", "message id unknown",
            "click after the conversion", "message sent after the conversion",
            "click outside the attribution window"} <= reasons

    # The conversions the sandbox planted at the rule's edges (sandbox/hard_cases.py) are what each
    # case was designed to become: the designed outcome, not the oracle's.
    stored = stored_attribution(project)
    cases = project.world.hard_cases()
    assert cases.case.nunique() == 17 and len(cases) == 3 * 17
    in_window = cases[cases.conversion_id.isin(expected.conversion_id)]
    assert len(in_window) == len(cases)  # planted in the last days: every case is in the 7-day window
    for case in cases.itertuples():
        method, click_id, message_id, reason, creative_id, *_ = stored[(case.network_key, case.conversion_id)]
        assert (method, click_id, message_id, reason, creative_id) == (
            case.expected_method, case.expected_click_id, case.expected_message_id, case.expected_reason,
            case.expected_creative_id), case.case
    # the raw values looked at are kept
    ad_id, field, sub_id, days = project.query(
        "SELECT looked_at_ad_id, looked_at_field, looked_at_sub_id, attribution_window_days "
        "FROM analytics.attributed_conversions WHERE network = 'bolt' AND looked_at_sub_id IS NOT NULL LIMIT 1")[0]
    assert field == "aff_sub3" and ad_id and sub_id and days == 7


def test_attribution_window_per_network_and_offer(project):
    truth = window_truth(project)
    acme_offer = int(truth[truth.network_key == "acme"].offer_id.mode()[0])
    project.rebuild(
        acme={"attribution_window_days": 1, "offer_attribution_window_days": {acme_offer: 30}},
        bolt={"attribution_window_days": 1},
    )
    for key in NETWORKS:
        assert project.sync(key).success
    expected = expected_attribution(
        project.world, window_truth(project), window_days={"acme": 1, "bolt": 1},
        offer_window_days={("acme", acme_offer): 30})
    assert (expected.expected_reason == "click outside the attribution window").sum() > 10
    assert_matches_oracle(project, expected)
