"""The whole pipeline, through Dagster, against the sandbox's ground truth."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from trackly_pipeline.sandbox.expected_outputs import expected_conversions, expected_revenue, read_fx_rates

NETWORKS = ("acme", "bolt", "cobalt")


def window_truth(project, days: int = 7) -> pd.DataFrame:
    end = project.world.clock.now().replace(minute=0, second=0, microsecond=0)
    return expected_conversions(
        project.world, end - timedelta(days=days), end, read_fx_rates(project.root / "fx_rates.csv"), "USD"
    )


# Not slow: the everyday loop's proof that the whole pipeline still syncs to the ground truth.
def test_every_network_syncs_and_matches_ground_truth(synced_project):
    project = synced_project  # each network's sync asserted successful
    truth = window_truth(project)
    assert set(truth.network_key) == set(NETWORKS)  # three networks, three zones, several currencies
    assert truth.currency.nunique() >= 3

    stored = project.query(
        "SELECT network, conversion_id, status, payout, currency, payout_reporting, attribution_method, click_id,"
        " message_id FROM analytics.attributed_conversions"
    )
    got = {(r[0], r[1]): r[2:] for r in stored}
    assert len(got) == len(stored) == len(truth)
    for row in truth.itertuples():
        status, payout, currency, reporting, method, click_id, message_id = got[(row.network_key, row.conversion_id)]
        assert (status, payout, currency) == (row.status, Decimal(row.payout), row.currency)
        assert reporting == row.payout_reporting, (row.network_key, row.conversion_id)  # exact, to 5 decimals
        assert method == row.attribution_method, (row.network_key, row.conversion_id)
        assert message_id == row.message_id
        if method in ("ad_id_click", "sub_id_click"):
            assert click_id == row.click_id


# Not slow: reads the same synced warehouse as the test above.
def test_each_attribution_method_occurs(synced_project):
    project = synced_project
    methods = dict(
        project.query("SELECT attribution_method, count(*) FROM analytics.attributed_conversions GROUP BY 1")
    )
    assert set(methods) == {"ad_id_click", "sub_id_click", "sub_id_message", "unattributed"}
    assert all(count > 0 for count in methods.values())


# Not slow: reads the same synced warehouse as the test above.
def test_rollup_revenue_equals_ground_truth_to_the_cent(synced_project):
    project = synced_project
    truth = window_truth(project)

    def stored(sql: str) -> dict:
        return {tuple(r[:-1]): Decimal(r[-1]).quantize(Decimal("0.01")) for r in project.query(sql)}

    by_message = stored("SELECT message_id, sum(revenue) FROM analytics.revenue_by_message GROUP BY ALL")
    by_creative = stored("SELECT creative_id, sum(revenue) FROM analytics.revenue_by_creative GROUP BY ALL")
    by_offer = stored("SELECT network, offer_id, sum(revenue) FROM analytics.revenue_by_offer GROUP BY ALL")

    def nonzero(d: dict) -> dict:
        return {k: v for k, v in d.items() if v != 0}

    assert nonzero(by_message) == nonzero(expected_revenue(truth, ["message_id"]))
    assert nonzero(by_creative) == nonzero(expected_revenue(truth, ["creative_id"]))
    assert nonzero(by_offer) == nonzero(expected_revenue(truth, ["network_key", "offer_id"]))
    total = project.query("SELECT sum(revenue) FROM analytics.revenue_by_offer")[0][0]
    approved = truth[truth.status == "approved"]
    assert round(total, 2) == round(sum(approved.payout_reporting, Decimal(0)), 2)


@pytest.mark.slow
def test_status_changes_between_two_hourly_runs(synced_project):
    project = synced_project
    before = {
        (r[0], r[1]): r[2:]
        for r in project.query("SELECT network, conversion_id, status, payout FROM tune.conversions")
    }
    project.world.clock.advance(timedelta(days=2))
    for key in NETWORKS:
        assert project.sync(key).success
    truth = window_truth(project)
    after = {
        (r[0], r[1]): r[2:]
        for r in project.query("SELECT network, conversion_id, status, payout FROM tune.conversions")
    }
    changed = [k for k in before if k in after and before[k] != after[k]]
    assert changed, "the sandbox changes statuses as its clock advances"
    transitions = {(before[k][0], after[k][0]) for k in changed}
    assert ("pending", "approved") in transitions or ("pending", "rejected") in transitions
    for row in truth.itertuples():
        assert after[(row.network_key, row.conversion_id)] == (row.status, Decimal(row.payout))


@pytest.mark.slow
def test_seven_day_boundary_and_older_rows_stay(synced):
    project = synced("acme")
    end = project.world.clock.now()
    start = end - timedelta(days=7)
    outside = project.query(
        "SELECT count(*) FROM tune.conversions WHERE converted_at < $start OR converted_at >= $end",
        {"start": start, "end": end},
    )[0][0]
    assert outside == 0
    first_rows = project.query(
        "SELECT conversion_id, status, payout FROM tune.conversions "
        "WHERE network = 'acme' AND converted_at < $cut ORDER BY 1",
        {"cut": start + timedelta(days=1)},
    )
    assert first_rows

    project.world.clock.advance(timedelta(days=3))  # the first day falls out of the window
    assert project.sync("acme").success
    kept = project.query(
        "SELECT conversion_id, status, payout FROM tune.conversions "
        "WHERE network = 'acme' AND converted_at < $cut ORDER BY 1",
        {"cut": start + timedelta(days=1)},
    )
    assert kept == first_rows  # conversions older than the window stay as they were


@pytest.mark.slow
def test_rerunning_is_idempotent(synced_project):
    snapshot_sql = {
        "conversions": "SELECT * EXCLUDE (first_seen_at, last_seen_at) FROM tune.conversions ORDER BY ALL",
        "attributed": "SELECT * EXCLUDE (attributed_at) FROM analytics.attributed_conversions ORDER BY ALL",
        "by_message": "SELECT * FROM analytics.revenue_by_message ORDER BY ALL",
        "by_creative": "SELECT * FROM analytics.revenue_by_creative ORDER BY ALL",
        "by_offer": "SELECT * FROM analytics.revenue_by_offer ORDER BY ALL",
        "offers": "SELECT * EXCLUDE (synced_at) FROM tune.offers ORDER BY ALL",
        "clicks": "SELECT count(*), count(DISTINCT (source_file, source_row)) FROM trackly.clicks",
    }
    project = synced_project
    first = {name: project.query(sql) for name, sql in snapshot_sql.items()}
    for key in NETWORKS:
        assert project.sync(key).success
    second = {name: project.query(sql) for name, sql in snapshot_sql.items()}
    assert first == second
    assert first["clicks"][0][0] == first["clicks"][0][1]  # no log row is loaded twice
