"""Faults injected by the sandbox, over real HTTP, through the whole Dagster run: either the run
succeeds and the tables equal the ground truth, or it fails clearly, ops.sync_log says why, every
table is exactly as before, and the next run repairs everything."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from trackly_pipeline.sandbox import FaultRule

from .conftest import table_checksums
from .test_pipeline_ground_truth import window_truth

pytestmark = pytest.mark.slow

REPORT = "Report::getConversions"


def assert_matches_ground_truth(project, network_key: str, ignore: set[int] = frozenset()) -> None:
    truth = window_truth(project)
    truth = truth[truth.network_key == network_key]
    end = project.world.clock.now().replace(minute=0, second=0, microsecond=0)
    stored = {
        r[0]: r[1:]
        for r in project.query(
            "SELECT conversion_id, status, payout, attribution_method FROM analytics.attributed_conversions "
            "WHERE network = $network AND converted_at >= $start AND converted_at < $end",
            {"network": network_key, "start": end - timedelta(days=7), "end": end},
        )
        if r[0] not in ignore
    }
    assert len(stored) == len(truth) > 0
    for row in truth.itertuples():
        assert stored[row.conversion_id] == (row.status, Decimal(row.payout), row.attribution_method)


def last_sync(project, network_key: str) -> tuple:
    return project.query(
        "SELECT status, error FROM ops.sync_log WHERE network = $network AND kind = 'conversions' "
        "ORDER BY started_at DESC LIMIT 1",
        {"network": network_key},
    )[0]


@pytest.mark.parametrize(
    ("rule", "overrides"),
    [
        pytest.param(
            FaultRule("rate_limit", times=3, method=REPORT), {"rate_limit_window_s": 0.5}, id="rate-limit-burst"
        ),
        pytest.param(FaultRule("http_500", times=2, method=REPORT), {}, id="http-500"),
        pytest.param(FaultRule("http_502", times=1, method=REPORT, page=2), {}, id="http-502-on-page-2"),
        pytest.param(FaultRule("http_504", times=2, method=REPORT), {}, id="http-504"),
        pytest.param(FaultRule("slow", times=1, method=REPORT, delay=2.5), {"timeout_s": 1}, id="slow-past-timeout"),
        pytest.param(FaultRule("malformed_json", times=1, method=REPORT, page=3), {}, id="malformed-json"),
        pytest.param(
            FaultRule("trickle", times=1, method=REPORT, delay=0.05), {"timeout_s": 1}, id="trickled-past-timeout"
        ),
        pytest.param(FaultRule("truncated", times=1, method=REPORT, page=2), {}, id="cut-mid-reply-on-page-2"),
        pytest.param(FaultRule("http_429", times=2, method=REPORT, retry_after="0.2"), {}, id="http-429-from-a-proxy"),
    ],
)
def test_transient_faults_are_retried_and_the_run_matches_ground_truth(project, rule, overrides):
    project.rebuild(acme={"page_size": 100, **overrides})
    project.server.add_fault(rule)
    result = project.sync("acme")
    assert result.success
    assert project.server.injected, "the fault was injected"
    assert_matches_ground_truth(project, "acme")
    assert last_sync(project, "acme") == ("success", None)


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param(FaultRule("http_500", times=None, method=REPORT, page=3), id="page-3-of-n-keeps-failing"),
        pytest.param(FaultRule("invalid_token", times=None), id="invalid-token"),
        pytest.param(FaultRule("malformed_json", times=None, method=REPORT, page=2), id="page-2-always-malformed"),
        pytest.param(FaultRule("rate_limit", times=None, method=REPORT), id="rate-limited-for-good"),
        pytest.param(FaultRule("truncated", times=None, method=REPORT, page=2), id="page-2-always-cut-mid-reply"),
    ],
)
def test_lasting_faults_fail_cleanly_and_the_next_run_repairs(synced, rule):
    project = synced("acme", acme={"page_size": 100, "rate_limit_window_s": 0.2})
    project.world.clock.advance(timedelta(hours=30))  # new conversions and status changes
    before = table_checksums(project)

    project.server.add_fault(rule)
    result = project.sync("acme", with_offers=False)  # the conversion sync alone, as on most ticks
    assert not result.success
    message = result.get_step_failure_events()[0].event_specific_data.error.message
    assert "network 'acme'" in message
    assert table_checksums(project) == before  # every table exactly as it was
    status, error = last_sync(project, "acme")
    assert status == "failed" and error

    project.server.clear_faults()
    assert project.sync("acme").success
    assert_matches_ground_truth(project, "acme")


def test_a_sweep_short_of_rows_fails_before_writing_and_the_next_run_repairs(synced):
    """A network that caps rows per page below our `limit` (TUNE's maximum is undocumented) while its
    `count` and `pageCount` follow the limit: stored, the sweep would mark the rows it never got as
    vanished. The run fails instead, saying how many rows TUNE counted and how many came."""
    project = synced("acme", acme={"page_size": 100})
    project.world.clock.advance(timedelta(hours=30))  # new conversions and status changes
    before = table_checksums(project)

    cap = 60
    project.server.add_fault(FaultRule("short_page", times=None, method=REPORT, keep_rows=cap))
    result = project.sync("acme", with_offers=False)
    assert not result.success
    count = int((window_truth(project).network_key == "acme").sum())  # what TUNE says matches
    pages = -(-count // 100)
    received = (pages - 1) * cap + min(cap, count - (pages - 1) * 100)
    reason = (
        f"TUNE Report::getConversions said {count:,} conversions match but returned {received:,} over "
        f"{pages} pages of 100; if the network caps rows per page, lower page_size"
    )
    assert pages > 1 and received < count
    message = result.get_step_failure_events()[0].event_specific_data.error.message
    assert "network 'acme'" in message and reason in message
    assert table_checksums(project) == before  # no conversion marked vanished, nothing else written
    assert last_sync(project, "acme") == ("failed", f"TuneIncompleteSweepError: {reason}")

    project.server.clear_faults()
    assert project.sync("acme").success
    assert_matches_ground_truth(project, "acme")
