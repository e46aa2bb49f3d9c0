"""Reconciliation with TUNE's own totals (Report::getStats): the reconciles_with_tune check passes
after a sync, fails naming exactly the days the sandbox's ground truth says differ once the clock
moves on (statuses and payouts change that the last 7-day sync has not seen), and passes again
after the next sync. The expectation is computed here from the ground truth and the raw stored
rows, not with the pipeline's SQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from trackly_pipeline.defs.reconciliation import CHECK_NAME, reconcile_job_name
from trackly_pipeline.sandbox import FaultRule

pytestmark = pytest.mark.slow

ZONES = {"acme": ("acmenet", "America/New_York"), "cobalt": ("cobaltads", "Asia/Kolkata")}


def evaluation(result: dg.ExecuteInProcessResult):
    found = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME]
    assert len(found) == 1
    return found[0]


def reconcile_now(project, key: str):
    result = project.defs.get_job_def(reconcile_job_name(key)).execute_in_process(
        instance=project.instance, raise_on_error=False
    )
    assert result.success  # a failing check warns; it never fails the run
    return evaluation(result)


def compared_days(sync_end: datetime, zone: str) -> list[date]:
    """Whole network-local days inside the 7-day window [end - 7 days, end) the sync replaced."""
    end = sync_end.replace(minute=0, second=0, microsecond=0)
    start, tz = end - timedelta(days=7), ZoneInfo(zone)
    day, days = start.astimezone(tz).date() - timedelta(days=1), []
    while day <= end.astimezone(tz).date():
        if (
            datetime.combine(day, time(0), tz) >= start
            and datetime.combine(day + timedelta(days=1), time(0), tz) <= end
        ):
            days.append(day)
        day += timedelta(days=1)
    return days


def expected_differing_days(project, key: str, days: list[date]) -> list[date]:
    network_id, zone = ZONES[key]
    truth = defaultdict(lambda: [0, Decimal(0)])
    for row in project.world.ground_truth_stats(network_id).itertuples():
        if row.date in days:
            truth[(row.date, int(row.offer_id), row.currency)][0] += int(row.conversions)
            truth[(row.date, int(row.offer_id), row.currency)][1] += Decimal(row.payout)
    ours = defaultdict(lambda: [0, Decimal(0)])
    for converted_at, offer_id, currency, status, is_adjustment, payout in project.query(
        "SELECT converted_at, offer_id, currency, status, is_adjustment, payout FROM tune.conversions "
        "WHERE network = $network",
        {"network": key},
    ):
        day = converted_at.astimezone(ZoneInfo(zone)).date()
        if day in days and status == "approved":
            ours[(day, offer_id, currency)][0] += 0 if is_adjustment else 1
            ours[(day, offer_id, currency)][1] += payout
    differing = {
        group[0]
        for group in truth.keys() | ours.keys()
        if truth[group][0] != ours[group][0] or abs(truth[group][1] - ours[group][1]) > Decimal("0.01")
    }
    return sorted(differing)


@pytest.mark.parametrize("key", ["acme", "cobalt"])
def test_reconciliation_passes_fails_on_exactly_the_changed_days_then_passes_again(project, key):
    world = project.world
    _, zone = ZONES[key]
    synced_at_clock = world.clock.now()
    result = project.sync(key)
    assert result.success
    check = evaluation(result)  # part of every sync run
    assert check.passed, check.description
    assert check.metadata["differing_days"].value == []
    days = compared_days(synced_at_clock, zone)
    assert len(days) == 6 and check.metadata["days_compared"].value.startswith(f"{days[0]} to {days[-1]}")
    assert expected_differing_days(project, key, days) == []  # the test's own arithmetic agrees

    world.clock.advance(timedelta(hours=12))  # approvals, refunds and payout edits the last sync has not seen
    expected = expected_differing_days(project, key, days)
    assert 0 < len(expected) < len(days), "the sandbox changed history on some compared days, not all"
    check = reconcile_now(project, key)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["differing_days"].value == [d.isoformat() for d in expected]
    for day in expected:
        assert day.isoformat() in check.description
        assert day.isoformat() in check.metadata["difference_table"].value
    stored = project.query(
        "SELECT DISTINCT day FROM ops.reconciliation WHERE network = $network AND NOT matches ORDER BY day",
        {"network": key},
    )
    assert [r[0] for r in stored] == expected

    assert project.sync(key, with_offers=False).success
    check = reconcile_now(project, key)
    assert check.passed, check.description
    assert project.query(
        "SELECT count(*) FROM ops.reconciliation WHERE network = $network AND NOT matches", {"network": key}
    ) == [(0,)]


def test_an_unreachable_report_warns_without_failing_the_run(synced):
    project = synced("acme")
    project.server.add_fault(FaultRule("api_error", times=None, method="Report::getStats", message="Report is down"))
    check = reconcile_now(project, "acme")
    assert not check.passed
    assert "Report is down" in check.metadata["error"].value
    assert project.world.token_for("acmenet") not in check.metadata["error"].value


def test_before_any_sync_there_is_nothing_to_reconcile(project):
    check = reconcile_now(project, "acme")
    assert not check.passed and "no successful conversion sync" in check.description
