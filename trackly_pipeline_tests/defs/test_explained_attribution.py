"""Explained attribution: Trackly's rules (first click, per-offer attribution window) and a reason
with the raw values for every unattributed conversion, against an independent oracle."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.assets.rollups import ROLLUPS
from trackly_pipeline.defs.jobs import sync_job_name
from trackly_pipeline.defs.partitions import range_tags, trailing_window
from trackly_pipeline.sandbox.expected_outputs import expected_attribution
from trackly_pipeline.sandbox.hard_cases import CASES
from trackly_pipeline.warehouse.database import Warehouse, transaction
from trackly_pipeline.warehouse.transforms import rebuild_rollups

from .conftest import EARLIEST
from .test_pipeline_ground_truth import NETWORKS, window_truth

pytestmark = pytest.mark.slow


def stored_attribution(project) -> dict:
    rows = project.query(
        "SELECT network, conversion_id, attribution_method, click_id, message_id, unattributed_reason, creative_id, "
        "looked_at_ad_id, looked_at_field, looked_at_sub_id, attribution_window_days "
        "FROM analytics.attributed_conversions"
    )
    return {(r[0], r[1]): r[2:] for r in rows}


def assert_matches_oracle(project, expected) -> None:
    stored = stored_attribution(project)
    assert len(stored) == len(expected)
    for row in expected.itertuples():
        method, click_id, message_id, reason, creative_id, *_ = stored[(row.network_key, row.conversion_id)]
        assert (method, message_id, reason) == (row.expected_method, row.expected_message_id, row.expected_reason), row
        assert (click_id, creative_id) == (row.expected_click_id, row.expected_creative_id), row


def test_default_rules_and_reasons(synced_project):
    project = synced_project
    expected = expected_attribution(project.world, window_truth(project))
    assert_matches_oracle(project, expected)
    reasons = {r for r in expected.expected_reason if r}
    assert {
        "no click for the ad_id",
        "sub-id empty",
        "sub-id not an 8-character id",
        "message id unknown",
        "click after the conversion",
        "message sent after the conversion",
        "click outside the attribution window",
        "message sent outside the attribution window",
        "message sent before the lookup horizon",
    } <= reasons

    # The conversions the sandbox planted at the rule's edges (sandbox/hard_cases.py) are what each
    # case was designed to become: the designed outcome, not the oracle's.
    stored = stored_attribution(project)
    cases = project.world.hard_cases()
    assert cases.case.nunique() == len(CASES) and len(cases) == 3 * len(CASES)
    in_window = cases[cases.conversion_id.isin(expected.conversion_id)]
    assert len(in_window) == len(cases)  # planted in the last days: every case is in the 7-day window
    for case in cases.itertuples():
        method, click_id, message_id, reason, creative_id, *_ = stored[(case.network_key, case.conversion_id)]
        assert (method, click_id, message_id, reason, creative_id) == (
            case.expected_method,
            case.expected_click_id,
            case.expected_message_id,
            case.expected_reason,
            case.expected_creative_id,
        ), case.case
    # the raw values looked at are kept
    ad_id, field, sub_id, days = project.query(
        "SELECT looked_at_ad_id, looked_at_field, looked_at_sub_id, attribution_window_days "
        "FROM analytics.attributed_conversions WHERE network = 'bolt' AND looked_at_sub_id IS NOT NULL LIMIT 1"
    )[0]
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
        project.world,
        window_truth(project),
        window_days={"acme": 1, "bolt": 1},
        offer_window_days={("acme", acme_offer): 30},
    )
    assert (expected.expected_reason == "click outside the attribution window").sum() > 10
    assert_matches_oracle(project, expected)


def test_a_backfill_of_attribution_corrects_rows_an_older_version_credited_to_a_later_click(synced):
    """A warehouse written before the time-order rule holds a conversion credited to a click made
    after it. Re-attributing its hours (README: "Re-attributing history") corrects the row and
    takes its payout out of the message's and creative's revenue."""
    project = synced("acme")
    cases = project.world.hard_cases()
    truth = window_truth(project).set_index("conversion_id")
    later = cases[
        (cases.network_key == "acme")
        & (cases.expected_reason == "click after the conversion")
        & cases.conversion_id.map(lambda c: truth.status.get(c) == "approved")
    ].iloc[0]
    named = project.query(
        "SELECT looked_at_ad_id, looked_at_sub_id FROM analytics.attributed_conversions "
        "WHERE network = 'acme' AND conversion_id = $id",
        {"id": int(later.conversion_id)},
    )[0]
    clicks = project.world.clicks_frame()
    planted = clicks[clicks.click_id.isin(named)].iloc[0]  # the click made after the conversion
    messages = project.world.messages_frame()
    creative = int(messages[messages.message_id == planted.message_id].creative_id.iloc[0])

    # The row as the older version wrote it, and its day's rollups as they were built from it.
    with Warehouse(project.settings.duckdb_path).connect() as conn:
        conn.execute(
            "UPDATE analytics.attributed_conversions SET attribution_method = 'ad_id_click', "
            "click_id = $click, message_id = $message, creative_id = $creative, unattributed_reason = NULL "
            "WHERE network = 'acme' AND conversion_id = $id",
            {
                "click": planted.click_id,
                "message": planted.message_id,
                "creative": creative,
                "id": int(later.conversion_id),
            },
        )
        conn.execute(
            "INSERT INTO ops.dirty_days SELECT utc_day(converted_at), 'test' FROM analytics.attributed_conversions "
            "WHERE network = 'acme' AND conversion_id = $id",
            {"id": int(later.conversion_id)},
        )
        with transaction(conn):
            rebuild_rollups(conn)

    def credited_revenue() -> tuple:
        return project.query(
            "SELECT (SELECT coalesce(sum(revenue), 0) FROM analytics.revenue_by_message WHERE message_id = $message), "
            "(SELECT attribution_method FROM analytics.attributed_conversions WHERE network = 'acme' "
            "AND conversion_id = $id)",
            {"message": planted.message_id, "id": int(later.conversion_id)},
        )[0]

    assert credited_revenue() == (truth.payout_reporting[later.conversion_id], "ad_id_click")

    # A backfill of attribution (and the rollups after it) over the conversion's day only.
    day = truth.converted_at[later.conversion_id].floor("D").to_pydatetime()
    first, last = trailing_window(day + timedelta(days=1), 1, EARLIEST)
    job = project.defs.get_job_def(sync_job_name("acme"))
    result = job.execute_in_process(
        instance=project.instance,
        tags=range_tags(first, last),
        raise_on_error=False,
        asset_selection=[attributed_asset_key("acme"), *ROLLUPS],
    )
    assert result.success
    assert credited_revenue() == (0, "unattributed")
    assert project.query(
        "SELECT unattributed_reason, click_id FROM analytics.attributed_conversions "
        "WHERE network = 'acme' AND conversion_id = $id",
        {"id": int(later.conversion_id)},
    ) == [("click after the conversion", None)]
