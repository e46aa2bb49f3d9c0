"""Two network keys on one TUNE network id (two affiliate accounts of ours there, issue 14.6), through
whole Dagster runs against the sandbox: no click counts twice, each key's revenue is its own."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trackly_pipeline.sandbox import SECOND_ACCOUNTS, SandboxWorld
from trackly_pipeline.sandbox.expected_outputs import expected_revenue

from .conftest import ANCHOR, Project, make_project
from .test_pipeline_ground_truth import window_truth

pytestmark = pytest.mark.slow

SHARING = ("acme", "acme2")  # both on network id acmenet, affiliate ids 1001 and 1002


@pytest.fixture
def project(tmp_path, monkeypatch) -> Project:
    """The usual project (seed 11) over a world with acme's second account, configured as a fourth key."""
    world = SandboxWorld.generate(
        seed=11, anchor=ANCHOR, history_days=20, conversions_per_network=800, accounts=SECOND_ACCOUNTS
    )
    server, project = make_project(world, tmp_path, monkeypatch)
    yield project
    server.stop()


def test_clicks_count_once_for_the_key_they_were_logged_for_and_each_key_earns_its_own_revenue(project):
    assert [(n.key, n.network_id, n.affiliate_id) for n in project.settings.networks] == [
        ("acme", "acmenet", "1001"),
        ("bolt", "boltmedia", "2002"),
        ("cobalt", "cobaltads", "3003"),
        ("acme2", "acmenet", "1002"),
    ]
    for key in SHARING:
        assert project.sync(key).success, key

    # Every click the log holds for a configured account (network id and affiliate id), once: the
    # log is loaded whole, so every one of its days is rolled up.
    clicks = project.world.clicks_frame()
    key_of = {(n.network_id, int(n.affiliate_id)): n.key for n in project.settings.networks}
    logged = clicks.apply(lambda c: key_of.get((c.network_id, int(c.affiliate_id))), axis=1).value_counts()
    assert set(logged.index) == {"acme", "acme2", "bolt", "cobalt"} and logged["acme2"] > 0
    counted = dict(project.query("SELECT network, sum(clicks) FROM analytics.revenue_by_offer GROUP BY network"))
    assert counted == logged.to_dict()
    assert sum(counted.values()) == len(clicks)  # the sandbox logs clicks for configured accounts only
    total_by_message = project.query("SELECT sum(clicks) FROM analytics.revenue_by_message")[0][0]
    # revenue_by_message counts the clicks logged with a message (the hard cases log some without one).
    with_message = clicks.message_id.fillna("").ne("").sum()
    assert 0 < with_message < len(clicks)
    assert total_by_message == with_message

    # Each key holds its own account's conversions, and its revenue is its ground truth, to the cent.
    truth = window_truth(project)
    truth = truth[truth.network_key.isin(SHARING)]
    stored = set(project.query("SELECT network, conversion_id FROM analytics.attributed_conversions"))
    assert stored == set(zip(truth.network_key, truth.conversion_id.astype(int)))

    def revenue(sql: str) -> dict:
        return {tuple(r[:-1]): Decimal(r[-1]).quantize(Decimal("0.01")) for r in project.query(sql) if r[-1] != 0}

    def nonzero(totals: dict) -> dict:
        return {k: v for k, v in totals.items() if v != 0}

    by_offer = revenue("SELECT network, offer_id, sum(revenue) FROM analytics.revenue_by_offer GROUP BY ALL")
    assert by_offer == nonzero(expected_revenue(truth, ["network_key", "offer_id"]))
    assert {network for network, _ in by_offer} == set(SHARING)
    by_message = revenue("SELECT message_id, sum(revenue) FROM analytics.revenue_by_message GROUP BY ALL")
    assert by_message == nonzero(expected_revenue(truth, ["message_id"]))
