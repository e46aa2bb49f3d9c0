"""Issue 14.1 through whole Dagster runs against the sandbox: stored conversions that TUNE serves
again unreadable for a day (resends.py: a six-decimal payout or sale amount, a lone surrogate in the
message-id sub field) are held at their last good state, counted, recorded and named by a WARN
check, never deleted; a capitalized status is simply read; once readable again they heal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from trackly_pipeline.defs.checks import STALE_CHECK

from .test_faults import assert_matches_ground_truth

pytestmark = pytest.mark.slow

CONVERSIONS = dg.AssetKey(["tune", "acme", "conversions"])


def moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def check(result: dg.ExecuteInProcessResult):
    (found,) = [e for e in result.get_asset_check_evaluations() if e.check_name == STALE_CHECK]
    return found


def metadata(result: dg.ExecuteInProcessResult) -> dict:
    """The sweep's figures (on the run's last hour)."""
    event = next(
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == CONVERSIONS and "window" in e.materialization.metadata
    )
    return {key: value.value for key, value in event.materialization.metadata.items()}


def rows(project, ids) -> dict[int, tuple]:
    return {
        r[0]: r[1:]
        for r in project.query(
            "SELECT conversion_id, status, payout, first_seen_at, last_seen_at, held_since FROM tune.conversions "
            "WHERE network = 'acme' AND conversion_id IN (SELECT unnest($ids))",
            {"ids": sorted(ids)},
        )
    }


def attributed(project, ids) -> dict[int, tuple]:
    return {
        r[0]: r[1:]
        for r in project.query(
            "SELECT conversion_id, * EXCLUDE (conversion_id, attributed_at) FROM analytics.attributed_conversions "
            "WHERE network = 'acme' AND conversion_id IN (SELECT unnest($ids))",
            {"ids": sorted(ids)},
        )
    }


def last_sync_log(project) -> tuple:
    return project.query(
        "SELECT held, quarantined, status FROM ops.sync_log WHERE network = 'acme' "
        "AND kind = 'conversions' ORDER BY started_at DESC LIMIT 1"
    )[0]


def ledger(project, change: str) -> list[tuple]:
    return project.query(
        "SELECT conversion_id, seen_at, status, previous_status FROM tune.conversion_changes "
        "WHERE network = 'acme' AND change = $change ORDER BY ALL",
        {"change": change},
    )


def rollup_total(project) -> object:
    return project.query("SELECT sum(revenue) FROM analytics.revenue_by_offer WHERE network = 'acme'")[0][0]


def approved_total(project) -> object:
    return project.query(
        "SELECT sum(payout_reporting) FROM analytics.attributed_conversions "
        "WHERE network = 'acme' AND status = 'approved'"
    )[0][0]


def test_stored_conversions_sent_back_unreadable_are_held_then_heal(synced):
    project = synced("acme")  # at the anchor: every row readable, stored
    world = project.world
    resends = {r.kind: r for r in world.conversions("acmenet").resends}
    unreadable = {r.conversion_id for r in resends.values() if not r.readable}
    capitalized = resends["status_capitalized"].conversion_id
    everyone = unreadable | {capitalized}
    moving = resends["payout_6_decimals"].conversion_id  # TUNE approves it while it is unreadable

    before = rows(project, everyone)
    assert set(before) == everyone and all(row[-1] is None for row in before.values())
    before_attributed = attributed(project, unreadable)
    assert before[moving][0] == "pending"
    assert any(before[i][0] == "approved" and before[i][1] > 0 for i in unreadable)  # revenue at stake

    # Inside every period: TUNE serves the three unreadable, and the capitalized status.
    world.clock.set(moment(max(r.start for r in resends.values()) + 3600))
    served = world.ground_truth_conversions("acmenet", as_served=True).set_index("conversion_id")
    assert served.status[moving] == "approved"  # what TUNE says now; we cannot read it
    result = project.sync("acme", with_offers=False)
    assert result.success
    held = rows(project, unreadable)
    (seen_at,) = {row[-1] for row in held.values()}
    assert seen_at is not None
    assert {i: row[:-1] for i, row in held.items()} == {
        i: before[i][:-1] for i in unreadable
    }  # kept, first_seen_at too
    assert attributed(project, unreadable) == before_attributed  # attribution and revenue unchanged
    assert rollup_total(project) == approved_total(project)
    assert_matches_ground_truth(project, "acme")  # the truth: the last good state
    assert ledger(project, "quarantined") == sorted((i, seen_at, before[i][0], before[i][0]) for i in unreadable)
    assert not ledger(project, "vanished")
    as_of = {
        r[0]: (r[1], r[2])
        for r in project.query(
            "SELECT conversion_id, status, payout FROM tune.conversions_as_of(now()) WHERE network = 'acme'"
        )
    }
    assert {i: as_of[i] for i in unreadable} == {i: before[i][:2] for i in unreadable}
    # the capitalized status is read, not quarantined
    assert rows(project, [capitalized])[capitalized][0] == served.status[capitalized]
    assert rows(project, [capitalized])[capitalized][-1] is None
    quarantined = project.query("SELECT record_id, reason FROM ops.quarantine WHERE network = 'acme'")
    assert {int(record_id) for record_id, _ in quarantined} == unreadable
    reasons = " | ".join(reason for _, reason in quarantined)
    assert "Stat.payout has more than 5 decimal places" in reasons
    assert "Stat.sale_amount has more than 5 decimal places" in reasons
    assert "Stat.affiliate_info1 is not valid Unicode text" in reasons
    # counted: the sync log, the run's metadata; named: the WARN check
    assert last_sync_log(project) == (3, 3, "success")
    assert (metadata(result)["held"], metadata(result)["vanished"], metadata(result)["quarantined"]) == (3, 0, 3)
    stale = check(result)
    assert not stale.passed and stale.severity == dg.AssetCheckSeverity.WARN
    assert stale.metadata["held"].value == 3
    assert sorted(stale.metadata["conversion_ids"].value) == sorted(unreadable)
    for conversion_id in unreadable:
        assert str(conversion_id) in stale.description
    assert "more than 5 decimal places" in stale.metadata["held_conversions"].value

    # An hour later, still unreadable: held since the first time, recorded once.
    world.clock.advance(timedelta(hours=1))
    result = project.sync("acme", with_offers=False)
    assert result.success and not check(result).passed
    assert {row[-1] for row in rows(project, unreadable).values()} == {seen_at}
    assert len(ledger(project, "quarantined")) == 3
    assert last_sync_log(project)[0] == 3

    # Readable again: TUNE's latest state replaces the held one; nothing held, the check passes.
    world.clock.set(moment(max(r.end for r in resends.values()) + 3600))
    result = project.sync("acme", with_offers=False)
    assert result.success
    healed = rows(project, everyone)
    assert all(row[-1] is None for row in healed.values())
    assert {i: row[2] for i, row in healed.items()} == {i: before[i][2] for i in everyone}  # first_seen_at
    assert healed[moving][0] == "approved"
    assert any(row[0] == moving and row[2:] == ("approved", "pending") for row in ledger(project, "changed"))
    assert_matches_ground_truth(project, "acme")
    assert check(result).passed and metadata(result)["held"] == 0
    assert last_sync_log(project)[0] == 0
