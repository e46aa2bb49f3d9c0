"""The synthetic world: determinism, ground truth consistency, status history, files, speed."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SandboxNetwork, SandboxWorld
from trackly_pipeline.sandbox.conversions import PLANTED_PER_OCCURRENCE, repeated_hours
from trackly_pipeline.sandbox.expected_outputs import expected_attribution
from trackly_pipeline.sandbox.hard_cases import CASES
from trackly_pipeline.sandbox.offers import OFFER_STATUSES, PAYOUT_TYPES

SMALL = dict(anchor=datetime(2026, 11, 20, 12, tzinfo=UTC), history_days=10, conversions_per_network=300)


def test_default_networks_are_the_configured_ones():
    assert [
        (n.key, n.network_id, n.timezone, n.default_currency, n.currencies, n.message_id_field, n.affiliate_id)
        for n in DEFAULT_NETWORKS
    ] == [
        ("acme", "acmenet", "America/New_York", "USD", ("USD", "EUR"), "aff_sub", "1001"),
        ("bolt", "boltmedia", "Europe/Berlin", "EUR", ("EUR", "GBP"), "aff_sub3", "2002"),
        ("cobalt", "cobaltads", "Asia/Kolkata", "GBP", ("GBP", "USD"), "affiliate_unique1", "3003"),
    ]


def test_same_seed_same_world_and_other_seed_differs():
    first, again, other = (SandboxWorld.generate(seed=s, **SMALL) for s in (3, 3, 4))
    pd.testing.assert_frame_equal(first.ground_truth_conversions(), again.ground_truth_conversions())
    pd.testing.assert_frame_equal(first.clicks_frame(), again.clicks_frame())
    pd.testing.assert_frame_equal(first.messages_frame(), again.messages_frame())
    assert [o.model for o in first.offers("acmenet")] == [o.model for o in again.offers("acmenet")]
    assert first.token_env() == again.token_env()

    assert not first.ground_truth_conversions().tune_event_id.equals(other.ground_truth_conversions().tune_event_id)
    assert set(first.clicks_frame().click_id).isdisjoint(other.clicks_frame().click_id)
    assert first.token_env() != other.token_env()


def test_tokens_are_per_network_and_named_after_the_key(world):
    env = world.token_env()
    assert sorted(env) == ["TUNE_ACME_TOKEN", "TUNE_BOLT_TOKEN", "TUNE_COBALT_TOKEN"]
    assert env["TUNE_BOLT_TOKEN"] == world.token_for("boltmedia")
    assert world.token_env(DEFAULT_NETWORKS[0]) == {"TUNE_ACME_TOKEN": world.token_for("acmenet")}
    assert len(set(env.values())) == 3


def test_trackly_volumes_and_ids(world):
    messages, clicks = world.messages_frame(), world.clicks_frame()
    conversions = len(world.ground_truth_conversions(as_of=world.anchor + timedelta(days=30)))
    assert 4.5 < len(messages) / conversions < 5.5
    assert 1.7 < len(clicks) / conversions < 2.3
    # Ids are unique but for the repeats the hard cases plant: per network, two message ids sent
    # twice and three click ids logged twice (sandbox/hard_cases.py).
    networks = len(world.networks)
    assert messages.message_id.str.fullmatch(r"[A-Za-z0-9]{8}").all()
    assert messages.message_id.duplicated().sum() == 2 * networks
    assert clicks.click_id.str.fullmatch(r"[0-9a-f]{24}").all() and clicks.click_id.duplicated().sum() == 3 * networks
    assert clicks.link_id.dropna().str.len().eq(7).all()  # a click planted without a message has no link
    first_sends = messages.sort_values("sent_at", kind="stable").drop_duplicates("message_id")
    joined = clicks.merge(first_sends, on="message_id", validate="many_to_one")
    assert (joined.sent_at < joined.clicked_at).all()  # messages precede their clicks
    per_message = clicks.groupby("message_id").size()
    assert (per_message > 1).any()  # some messages are clicked again
    assert clicks.message_id.nunique() < len(messages) / 2  # most messages are never clicked


def test_offers_cover_every_payout_type_and_status(world):
    for network in world.networks:
        offers = world.offers(network.network_id)
        assert 20 <= len(offers) <= 40
        assert {o.payout_type for o in offers} == set(PAYOUT_TYPES)
        assert {o.status for o in offers} == set(OFFER_STATUSES)
        assert len({o.offer_id for o in offers}) == len(offers)
        assert {o.currency for o in offers} <= {None, *network.currencies}
        assert any(o.currency is None for o in offers)
        assert any("{transaction_id}" in o.model["offer_url"] for o in offers)
        frame = world.ground_truth_offers(network.network_id)
        assert list(frame.offer_id) == [o.offer_id for o in offers]


def test_ground_truth_agrees_with_the_trackly_log(world):
    """The ordinary conversions against the log read plainly (the hard cases repeat ids on purpose:
    test_hard_cases_are_what_the_rule_says holds them)."""
    truth = world.ground_truth_conversions()
    truth = truth[~truth.conversion_id.isin(world.hard_cases().conversion_id)]
    clicks = world.clicks_frame().drop_duplicates("click_id").set_index("click_id")
    messages = world.messages_frame().drop_duplicates("message_id").set_index("message_id")
    with_click = truth[truth.click_id.notna()]
    assert with_click.click_id.isin(clicks.index).all()
    logged = clicks.loc[with_click.click_id]
    assert (logged.message_id.to_numpy() == with_click.message_id.to_numpy()).all()
    assert (logged.network_id.to_numpy() == with_click.network_id.to_numpy()).all()
    assert (logged.offer_id.to_numpy() == with_click.offer_id.to_numpy()).all()
    assert (logged.clicked_at.to_numpy() == with_click.clicked_at.to_numpy()).all()
    assert (with_click.clicked_at < with_click.converted_at).all()  # clicks precede conversions

    with_message = truth[truth.message_id.notna()]
    assert with_message.message_id.isin(messages.index).all()
    sent = messages.loc[with_message.message_id]
    assert (sent.creative_id.to_numpy() == with_message.creative_id.to_numpy()).all()
    assert (sent.campaign_id.to_numpy() == with_message.campaign_id.to_numpy()).all()
    # The conversion's click is the message's first click (first-click attribution).
    first_click = world.clicks_frame().sort_values("clicked_at").drop_duplicates("message_id").set_index("message_id")
    assert (first_click.loc[with_click.message_id].index == with_click.message_id.to_numpy()).all()
    assert (first_click.loc[with_click.message_id].clicked_at.to_numpy() == with_click.clicked_at.to_numpy()).all()


def test_carriers_sit_where_the_ground_truth_says(world):
    truth = world.ground_truth_conversions()
    truth = truth[~truth.conversion_id.isin(world.hard_cases().conversion_id)]  # planted: see below
    click_ids = set(world.clicks_frame().click_id)
    message_ids = set(world.messages_frame().message_id)
    tune_transaction = re.compile(r"[0-9a-f]{30}")
    for network in world.networks:
        rows = truth[truth.network_id == network.network_id]
        field = rows[network.message_id_field]
        by_method = {m: rows[rows.attribution_method == m] for m in rows.attribution_method.unique()}

        ad_click = by_method["ad_id_click"]
        assert (ad_click.ad_id == ad_click.click_id).all()
        sub_click = by_method["sub_id_click"]
        assert (field[sub_click.index] == sub_click.click_id).all()
        assert sub_click.ad_id.str.fullmatch(tune_transaction).all()
        by_message = by_method["sub_id_message"]
        assert (field[by_message.index] == by_message.message_id).all()
        assert by_message.click_id.isna().all() and by_message.ad_id.str.fullmatch(tune_transaction).all()
        lost = by_method["unattributed"]
        assert lost.message_id.isna().all() and lost.click_id.isna().all()
        assert not lost.ad_id.isin(click_ids).any()
        assert not field[lost.index].isin(message_ids | click_ids).any()
        assert {"test", "{" + network.message_id_field + "}"} <= set(field[lost.index].dropna())

        ordinary = rows[~rows.is_adjustment & (rows.goal_id == 0)]
        shares = ordinary.attribution_method.value_counts(normalize=True)
        assert shares["ad_id_click"] == pytest.approx(0.42, abs=0.07)
        assert shares["sub_id_click"] == pytest.approx(0.27, abs=0.07)
        assert shares["sub_id_message"] == pytest.approx(0.20, abs=0.07)
        assert shares["unattributed"] == pytest.approx(0.11, abs=0.05)

        # Junk elsewhere, including real message ids in fields this network does not read.
        others = [f for f in ("aff_sub", "aff_sub2", "aff_sub3", "source") if f != network.message_id_field]
        assert any(rows[f].notna().any() for f in others)
        decoys = pd.concat([rows[f] for f in others]).dropna()
        assert decoys.isin(message_ids).any()


def test_hard_cases_are_what_the_rule_says(world):
    """Every planted case, in every network, is in the ground truth as designed, and the designed
    outcome is what the written rule (the oracle) gives; so is every other conversion's truth."""
    cases = world.hard_cases()
    assert len(cases) == len(CASES) * len(world.networks)
    assert set(cases.expected_method) == {"ad_id_click", "sub_id_message", "unattributed"}
    truth = world.ground_truth_conversions()
    oracle = expected_attribution(world, truth).set_index(["network_key", "conversion_id"])
    for case in cases.itertuples():
        expected = oracle.loc[(case.network_key, case.conversion_id)]
        creative = None if pd.isna(expected.creative_id) else int(expected.creative_id)  # truth: Int64, NA
        assert (expected.attribution_method, expected.message_id, creative) == (
            case.expected_method,
            case.expected_message_id,
            case.expected_creative_id,
        ), case.case
        assert (
            expected.expected_method,
            expected.expected_click_id,
            expected.expected_message_id,
            expected.expected_reason,
            expected.expected_creative_id,
        ) == (
            case.expected_method,
            case.expected_click_id,
            case.expected_message_id,
            case.expected_reason,
            case.expected_creative_id,
        ), case.case
    # The by-construction truth of the whole world agrees with the rule.
    assert (oracle.attribution_method == oracle.expected_method).all()
    assert (oracle.message_id.fillna("") == oracle.expected_message_id.fillna("")).all()


def test_multi_goal_conversions_share_a_transaction(world):
    truth = world.ground_truth_conversions()
    extra = truth[truth.goal_id > 0]
    assert len(extra) > 0
    for row in extra.itertuples():
        siblings = truth[(truth.network_id == row.network_id) & (truth.ad_id == row.ad_id)]
        assert (siblings.goal_id == 0).sum() == 1
        first = siblings[siblings.goal_id == 0].iloc[0]
        assert first.converted_at < row.converted_at
        assert (first.attribution_method, first.message_id) == (row.attribution_method, row.message_id)


def test_adjustments_are_negative_and_unattributed(world):
    truth = world.ground_truth_conversions()
    adjustments = truth[truth.is_adjustment]
    assert len(adjustments) >= 3
    assert (adjustments.payout.map(lambda d: d < 0)).all()
    assert (adjustments.status_code == 52).all() and (adjustments.status == "approved").all()
    assert (adjustments.attribution_method == "unattributed").all()
    for row in adjustments.itertuples():
        assert row.offer_id in {o.offer_id for o in world.offers(row.network_id)}


def test_money_is_exact_cents_in_offer_currency(world):
    truth = world.ground_truth_conversions()
    for column in ("payout", "revenue", "sale_amount"):
        assert truth[column].map(lambda d: isinstance(d, Decimal) and d == d.quantize(Decimal("0.01"))).all()
    for network in world.networks:
        currency_of = {o.offer_id: o.currency or network.default_currency for o in world.offers(network.network_id)}
        rows = truth[truth.network_id == network.network_id]
        assert (rows.offer_id.map(currency_of) == rows.currency).all()
        offers = {o.offer_id: o for o in world.offers(network.network_id)}
        cpc = rows[
            rows.offer_id.map(lambda i, offers=offers: offers[i].payout_type in ("cpc", "cpm")) & ~rows.is_adjustment
        ]
        assert (cpc.payout == 0).all()
        flat = rows[
            rows.offer_id.map(lambda i, offers=offers: offers[i].payout_type == "cpa_flat") & ~rows.is_adjustment
        ]
        default = flat.offer_id.map(lambda i, offers=offers: Decimal(offers[i].model["default_payout"]))
        custom = flat.payout != default
        assert 0 < custom.mean() < 0.3  # a few per-affiliate payouts differ from the offer default


def test_visibility_and_status_follow_the_clock():
    world = SandboxWorld.generate(seed=9, **SMALL)
    at_anchor = world.ground_truth_conversions()
    assert (at_anchor.converted_at <= world.anchor).all()
    later = world.ground_truth_conversions(as_of=world.anchor + timedelta(days=3))
    assert len(later) > len(at_anchor)  # future conversions appear as the clock moves

    world.clock.advance(timedelta(days=45))
    settled = world.ground_truth_conversions().set_index(["network_id", "conversion_id"])
    before = at_anchor.set_index(["network_id", "conversion_id"])
    after = settled.loc[before.index]
    transitions = set(zip(before.status, after.status))
    assert {("pending", "approved"), ("pending", "rejected"), ("approved", "rejected")} <= transitions
    assert (after.payout != before.payout).any()  # payout edits
    assert "pending" not in set(after.status)


def test_some_status_changes_happen_after_a_seven_day_lookback(world):
    late_changes = 0
    for network in world.networks:
        table = world.conversions(network.network_id)
        changed_at = np.where(table.state_at[:, 1:] < np.iinfo(np.int64).max, table.state_at[:, 1:], 0)
        late_changes += int(((changed_at - table.converted_at[:, None]) > 7 * 86400).sum())
    assert late_changes > 0


@pytest.mark.parametrize(
    "zone, change, shift",
    [
        ("America/New_York", "2026-11-01T06:00Z", 3600),
        ("Europe/Berlin", "2026-10-25T01:00Z", 3600),
        ("Australia/Lord_Howe", "2026-04-04T15:00Z", 1800),
        ("Australia/Adelaide", "2026-04-04T16:30Z", 3600),
    ],
)
def test_repeated_hours_are_found_to_the_second(zone, change, shift):
    at = int(pd.Timestamp(change).timestamp())
    assert repeated_hours(zone, at - 5 * 86400, at + 5 * 86400) == [(at, shift)]
    assert repeated_hours(zone, at - shift + 1, at + 5 * 86400) == []  # only fall-backs wholly inside
    assert repeated_hours("Asia/Kolkata", at - 200 * 86400, at + 200 * 86400) == []


def test_conversions_happen_in_both_occurrences_of_a_repeated_hour():
    """2026-11-01 01:00-02:00 happens twice in New York, 2026-10-25 02:00-03:00 twice in Berlin: the
    world has conversions in both, rendered as the same wall times; the ground truth's stored_at is
    the later instant of each (what the pipeline stores), converted_at when it really happened."""
    world = SandboxWorld.generate(
        seed=2,
        anchor=datetime(2026, 11, 3, tzinfo=UTC),
        history_days=12,
        conversions_per_network=3000,
        networks=DEFAULT_NETWORKS[:2],
    )
    truth = world.ground_truth_conversions(as_of=world.anchor + timedelta(days=5))
    for network, change in zip(world.networks, ("2026-11-01T06:00Z", "2026-10-25T01:00Z")):
        change = pd.Timestamp(change)
        mine = truth[truth.network_id == network.network_id]
        first = mine[(mine.converted_at >= change - pd.Timedelta(hours=1)) & (mine.converted_at < change)]
        second = mine[(mine.converted_at >= change) & (mine.converted_at < change + pd.Timedelta(hours=1))]
        assert len(first) >= PLANTED_PER_OCCURRENCE and len(second) >= PLANTED_PER_OCCURRENCE
        assert (first.stored_at == first.converted_at + pd.Timedelta(hours=1)).all()
        assert (second.stored_at == second.converted_at).all()

        def walls(frame, zone=network.timezone):
            return set(frame.converted_at.dt.tz_convert(zone).dt.strftime("%H"))

        assert walls(first) == walls(second) == {"01" if network.key == "acme" else "02"}
        # Some second-occurrence conversions were clicked in the first occurrence, at a later wall time.
        clicked_first = second[
            (second.clicked_at >= change - pd.Timedelta(hours=1))
            & (second.clicked_at < change)
            & (second.clicked_at + pd.Timedelta(hours=1) > second.converted_at + pd.Timedelta(minutes=5))
        ]
        assert len(clicked_first) >= 2
        # Everywhere else, the stored instant is the instant.
        elsewhere = mine[(mine.converted_at < change - pd.Timedelta(hours=1)) | (mine.converted_at >= change)]
        assert (elsewhere.stored_at == elsewhere.converted_at).all()
    rendered = world.conversions(DEFAULT_NETWORKS[0].network_id)
    at = pd.to_datetime(rendered.converted_at, unit="s", utc=True).tz_convert("America/New_York")
    assert (at.strftime("%Y-%m-%d %H:%M:%S") == rendered.local_text).all()  # other partners' rows too


def test_a_world_without_a_fall_back_has_nothing_moved():
    truth = SandboxWorld.generate(seed=3, **SMALL).ground_truth_conversions()  # 10 to 20 November
    assert (truth.stored_at == truth.converted_at).all()


def test_ids_ascend_with_time(world):
    for network in world.networks:
        table = world.conversions(network.network_id)
        assert (np.diff(table.conversion_id) > 0).all()
        assert (np.diff(table.converted_at) >= 0).all()


def test_files_for_the_pipeline(world, tmp_path):
    written = world.write_trackly_logs(tmp_path / "logs")
    clicks = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "logs" / "clicks").glob("clicks-*.parquet")))
    messages = pd.concat(
        pd.read_parquet(p) for p in sorted((tmp_path / "logs" / "messages").glob("messages-*.parquet"))
    )
    assert len(clicks) == len(world.clicks_frame()) and len(messages) == len(world.messages_frame())
    assert set(clicks.click_id) == set(world.clicks_frame().click_id)
    for path in written:
        day = re.search(r"(\d{4}-\d{2}-\d{2})\.parquet$", path.name).group(1)
        column = "clicked_at" if path.name.startswith("clicks") else "sent_at"
        assert (pd.read_parquet(path)[column].dt.strftime("%Y-%m-%d") == day).all()

    truth = pd.read_parquet(world.write_ground_truth(tmp_path / "truth.parquet"))
    assert len(truth) == len(world.ground_truth_conversions())

    rates = pd.read_csv(world.write_fx_rates(tmp_path / "fx.csv", "USD"), dtype={"rate": str})
    assert list(rates.columns) == ["date", "currency", "rate"]
    assert set(rates.currency) == {"USD", "EUR", "GBP"}
    assert (rates[rates.currency == "USD"].rate == "1.000000").all()
    assert rates.rate.str.fullmatch(r"\d+\.\d{6}").all()
    eur = rates[rates.currency == "EUR"].rate.astype(float)
    assert eur.between(0.9, 1.3).all()
    days = set(rates.date)
    assert {d.strftime("%Y-%m-%d") for d in world.ground_truth_conversions().converted_at} <= days
    assert (rates.groupby("date").size() == 3).all()
    assert rates.equals(pd.read_csv(world.write_fx_rates(tmp_path / "fx2.csv", "USD"), dtype={"rate": str}))


@pytest.mark.slow
def test_generating_100k_conversions_is_fast():
    started = time.perf_counter()
    world = SandboxWorld.generate(seed=1, networks=DEFAULT_NETWORKS[:1], conversions_per_network=100_000)
    elapsed = time.perf_counter() - started
    print(f"\ngenerated 100,000 conversions for one network in {elapsed:.2f} s")
    table = world.conversions("acmenet")
    assert len(table.ours(np.arange(len(table)))) == 100_000
    assert elapsed < 20


def test_network_validation():
    with pytest.raises(ValueError):
        SandboxNetwork("Bad-Key", "x", "UTC", "USD", ("USD",), "aff_sub", "1")
    with pytest.raises(ValueError):
        SandboxNetwork("ok", "x", "UTC", "USD", ("USD",), "aff_sub9", "1")


def test_other_partners_conversions_are_ordinary_sales_between_ours(world):
    for network in world.networks:
        table = world.conversions(network.network_id)
        theirs = np.flatnonzero(table.affiliate_id != int(network.affiliate_id))
        assert len(theirs) > 0.05 * len(table)
        assert not table.is_adjustment[theirs].any() and (table.status_code[theirs] != 52).all()
        assert (table.state_payout[theirs] >= 0).all()
        ours = table.ours(np.arange(len(table)))
        assert not set(table.tune_event_id[theirs]) & set(table.tune_event_id[ours])
        assert not set(table.ad_id[theirs]) & set(table.ad_id[ours])
