"""The status ledger: tune.conversion_changes records a conversion again only when its content
changes; analysts can rebuild what was known at any moment; runs count what changed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import dagster as dg
import pytest

from trackly_pipeline.warehouse.database import Warehouse

from .test_pipeline_ground_truth import window_truth

pytestmark = pytest.mark.slow


def state(frame) -> dict:
    return {(r.network_key, r.conversion_id): (r.status, Decimal(r.payout)) for r in frame.itertuples()}


def test_ledger_records_changes_and_rebuilds_the_past(synced):
    project = synced("acme", with_offers=False)
    first_truth = state(window_truth(project)[lambda f: f.network_key == "acme"])
    first_seen = project.query("SELECT max(seen_at) FROM tune.conversion_changes")[0][0]

    project.world.clock.advance(timedelta(days=2))
    result = project.sync("acme", with_offers=False)
    assert result.success
    second_truth = state(window_truth(project)[lambda f: f.network_key == "acme"])

    # one 'new' row per conversion, and a 'changed' row exactly where the content changed
    changed_in_truth = {k for k in first_truth if k in second_truth and first_truth[k] != second_truth[k]}
    assert changed_in_truth
    changed_rows = {
        ("acme", r[0])
        for r in project.query(
            "SELECT conversion_id FROM tune.conversion_changes WHERE change = 'changed' AND seen_at > $first",
            {"first": first_seen},
        )
    }
    assert changed_rows == changed_in_truth
    unchanged_again = project.query(
        "SELECT count(*) FROM tune.conversion_changes WHERE change = 'new' GROUP BY conversion_id HAVING count(*) > 1"
    )
    assert unchanged_again == []

    # what we knew after the first run, rebuilt from the ledger
    as_of_first = project.query(
        "SELECT network, conversion_id, status, payout FROM tune.conversions_as_of($t)", {"t": first_seen}
    )
    assert {(r[0], r[1]): (r[2], r[3]) for r in as_of_first} == first_truth
    # and the latest state is the second truth, for the window it swept
    end = project.world.clock.now().replace(minute=0, second=0, microsecond=0)
    latest = project.query(
        "SELECT network, conversion_id, status, payout FROM tune.conversions WHERE converted_at >= $s",
        {"s": end - timedelta(days=7)},
    )
    assert {(r[0], r[1]): (r[2], r[3]) for r in latest} == second_truth

    # the run's metadata (on its last hour) counts what changed and the transitions seen
    materialization = next(
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["tune", "acme", "conversions"]) and "window" in e.materialization.metadata
    )
    metadata = materialization.materialization.metadata
    assert metadata["window_changed"].value == len(changed_in_truth)
    transitions = metadata["status_transitions"].value
    assert sum(transitions.values()) == sum(1 for k in changed_in_truth if first_truth[k][0] != second_truth[k][0])
    assert metadata["window_new"].value == len(set(second_truth) - set(first_truth))


def test_the_published_copy_carries_the_macros(synced):
    project = synced("acme", with_offers=False)
    published = Warehouse(project.settings.duckdb_path).published_path
    with Warehouse(published).connect(read_only=True) as conn:
        count = conn.execute("SELECT count(*) FROM tune.conversions_as_of(now())").fetchone()[0]
        days = conn.execute("SELECT count(DISTINCT utc_day(converted_at)) FROM tune.conversions").fetchone()[0]
        recent = conn.execute(
            "SELECT count(*) FROM tune.conversions WHERE within_days(converted_at, now(), 3)"
        ).fetchone()[0]
    assert count == project.query("SELECT count(*) FROM tune.conversions")[0][0]
    assert days == project.query("SELECT count(DISTINCT converted_at::DATE) FROM tune.conversions")[0][0]
    assert (
        recent
        == project.query("SELECT count(*) FROM tune.conversions WHERE converted_at >= now() - INTERVAL 3 DAY")[0][0]
    )
