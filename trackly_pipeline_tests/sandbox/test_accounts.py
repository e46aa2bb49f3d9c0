"""Two affiliate accounts of ours on one TUNE network (SECOND_ACCOUNTS): two keys on one network id,
each with its conversions, its Trackly clicks and its ground truth, served under its affiliate filter."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SECOND_ACCOUNTS, SandboxServer, SandboxWorld

from .conftest import ANCHOR
from .test_api_stats import BY_DAY_OFFER, METRICS, as_truth, truth_dict
from .tunecalls import Tune, fields


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    return SandboxWorld.generate(
        seed=5, anchor=ANCHOR, history_days=20, conversions_per_network=600, accounts=SECOND_ACCOUNTS
    )


def of_affiliate(affiliate_id: str) -> list[tuple[str, str]]:
    return [
        ("filters[Stat.affiliate_id][conditional]", "EQUAL_TO"),
        ("filters[Stat.affiliate_id][values][]", affiliate_id),
    ]


def test_accounts_share_the_network_and_its_token_but_not_their_affiliate_ids(world):
    acme, acme2 = world.account("acme"), world.account("acme2")
    assert [n.key for n in world.networks] == ["acme", "bolt", "cobalt"]  # three TUNE networks
    assert [n.key for n in world.accounts] == ["acme", "bolt", "cobalt", "acme2"]
    assert (acme2.network_id, acme2.affiliate_id, acme.affiliate_id) == ("acmenet", "1002", "1001")
    assert world.token_env()["TUNE_ACME2_TOKEN"] == world.token_env()["TUNE_ACME_TOKEN"] == world.token_for("acmenet")
    assert world.token_env("acmenet") == {
        "TUNE_ACME_TOKEN": world.token_for("acmenet"),
        "TUNE_ACME2_TOKEN": world.token_for("acmenet"),
    }

    table = world.conversions("acmenet")  # one report for the network: every affiliate's rows
    assert (np.diff(table.conversion_id) > 0).all() and (np.diff(table.converted_at) >= 0).all()
    truth = world.ground_truth_conversions("acmenet")
    assert set(truth.network_key) == {"acme", "acme2"}
    assert truth.conversion_id.is_unique
    assert {key: set(rows.affiliate_id) for key, rows in truth.groupby("network_key")} == {
        "acme": {"1001"},
        "acme2": {"1002"},
    }
    assert world.ground_truth_conversions(key="acme2").equals(
        truth[truth.network_key == "acme2"].reset_index(drop=True)
    )


def test_each_accounts_clicks_carry_its_affiliate_id_and_earn_its_conversions(world):
    clicks = world.clicks_frame()
    assert clicks.affiliate_id.notna().all()
    per_account = clicks.groupby(["network_id", "affiliate_id"]).size()
    assert set(per_account.index) == {("acmenet", 1001), ("acmenet", 1002), ("boltmedia", 2002), ("cobaltads", 3003)}
    assert (per_account > 0).all()
    by_id = clicks.drop_duplicates("click_id").set_index("click_id")
    truth = world.ground_truth_conversions()
    with_click = truth[truth.click_id.notna() & ~truth.conversion_id.isin(world.hard_cases().conversion_id)]
    logged = by_id.loc[with_click.click_id]
    assert (logged.network_id.to_numpy() == with_click.network_id.to_numpy()).all()
    assert (logged.affiliate_id.astype(str).to_numpy() == with_click.affiliate_id.to_numpy()).all()
    assert set(with_click.network_key) == {"acme", "acme2", "bolt", "cobalt"}


def test_the_server_serves_each_accounts_conversions_and_stats_under_its_affiliate_filter(world):
    with SandboxServer(world) as server:
        tune = Tune(server)
        for key in ("acme", "acme2"):
            account = world.account(key)
            rows = tune.data(
                "Report",
                "getConversions",
                [*fields("Stat.id", "Stat.affiliate_id"), *of_affiliate(account.affiliate_id)],
            )["data"]
            truth = world.ground_truth_conversions(key=key)
            assert sorted(int(r["Stat"]["id"]) for r in rows) == sorted(truth.conversion_id)
            assert {r["Stat"]["affiliate_id"] for r in rows} == {account.affiliate_id}

            stats = tune.data(
                "Report",
                "getStats",
                [
                    *fields("Stat.date", "Stat.offer_id", "Stat.currency", *METRICS),
                    *BY_DAY_OFFER,
                    *of_affiliate(account.affiliate_id),
                ],
            )
            expected = world.ground_truth_stats("acmenet", key=key)
            assert as_truth(stats["data"]) == truth_dict(expected)
            assert expected.clicks.sum() > 0 and expected.conversions.sum() > 0


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        (replace(SECOND_ACCOUNTS[0], timezone="Europe/Berlin"), "timezone belong to the network"),
        (replace(SECOND_ACCOUNTS[0], network_id="nosuchnet"), "is not one of the networks"),
        (replace(SECOND_ACCOUNTS[0], affiliate_id="1001"), "affiliate id 1001 is taken"),
        (replace(SECOND_ACCOUNTS[0], affiliate_id="1018"), "affiliate id 1018 is taken"),  # another partner's
        (replace(SECOND_ACCOUNTS[0], key="bolt"), "keys must be unique"),
    ],
)
def test_an_account_that_is_not_another_of_ours_on_the_network_is_refused(account, problem):
    with pytest.raises(ValueError, match=problem):
        SandboxWorld.generate(
            seed=5,
            anchor=ANCHOR,
            history_days=2,
            conversions_per_network=20,
            networks=DEFAULT_NETWORKS,
            accounts=(account,),
        )
