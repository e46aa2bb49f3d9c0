"""A failing network does not stop the others, says why in ops.sync_log, and changes nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def table_state(project) -> dict:
    return {
        "conversions": project.query(
            "SELECT network, count(*), sum(payout) FROM tune.conversions GROUP BY 1 ORDER BY 1"
        ),
        "attributed": project.query(
            "SELECT network, count(*) FROM analytics.attributed_conversions GROUP BY 1 ORDER BY 1"
        ),
    }


def test_failing_network_beside_a_healthy_one(synced, monkeypatch):
    project = synced("acme", "bolt")
    before = table_state(project)

    bad_token = "not-the-right-token-0000"
    monkeypatch.setenv("TUNE_BOLT_TOKEN", bad_token)
    failed = project.sync("bolt")
    healthy = project.sync("acme")
    assert not failed.success
    assert healthy.success

    assert table_state(project) == before  # the failed sweep left every table as it was
    status, error = project.query(
        "SELECT status, error FROM ops.sync_log WHERE network = 'bolt' ORDER BY started_at DESC LIMIT 1"
    )[0]
    assert status == "failed"
    assert "TUNE rejected the network id or the token (it does not say which)" in error
    assert bad_token not in error
    failure = failed.get_step_failure_events()[0].event_specific_data.error
    assert "network 'bolt'" in failure.message and bad_token not in failure.to_string()


def test_unreachable_network_fails_alone(synced):
    project = synced("acme")
    project.rebuild(bolt={"api_url": "http://127.0.0.1:9/Apiv3/json", "max_retries": 1})
    assert not project.sync("bolt").success
    assert project.sync("acme").success
    status, error = project.query(
        "SELECT status, error FROM ops.sync_log WHERE network = 'bolt' ORDER BY started_at DESC LIMIT 1"
    )[0]
    assert status == "failed" and error
