"""Whole Dagster runs across a DST fall-back: the hourly partitions that start inside the repeated
hour, then a wider sweep. TUNE reports Stat.datetime as network-local wall time, which the repeated
hour shows twice; no conversion may be lost, quarantined or stored at two different instants."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from trackly_pipeline.defs.jobs import sync_assets, sync_job_name
from trackly_pipeline.defs.partitions import partition_key, range_tags
from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SandboxWorld

from .conftest import make_project

pytestmark = pytest.mark.slow

UTC = UTC
HOUR = timedelta(hours=1)


def sync_hour(project, key: str, hour: datetime) -> None:
    """One run over one hourly partition, as a backfill of that hour would be."""
    job = project.defs.get_job_def(sync_job_name(key))
    result = job.execute_in_process(
        instance=project.instance,
        tags=range_tags(partition_key(hour), partition_key(hour)),
        asset_selection=sync_assets(project.settings.network(key), with_offers=False),
        raise_on_error=False,
    )
    assert result.success, (key, hour)


def assert_nothing_lost(project, key: str, network_id: str, start: datetime, end: datetime) -> None:
    """Stored = the ground truth read as documented (stored_at) over [start, end); nothing
    quarantined, nothing vanished, each conversion recorded once (never moved between instants)."""
    assert project.query("SELECT reason FROM ops.quarantine WHERE network = $n", {"n": key}) == []
    assert project.query(
        "SELECT change, count(*) FROM tune.conversion_changes WHERE network = $n GROUP BY 1", {"n": key}
    ) == [("new", len(project.query("SELECT 1 FROM tune.conversions WHERE network = $n", {"n": key})))]
    stored = dict(
        project.query(
            "SELECT conversion_id, converted_at FROM tune.conversions WHERE network = $n "
            "AND converted_at >= $s AND converted_at < $e",
            {"n": key, "s": start, "e": end},
        )
    )
    truth = project.world.ground_truth_conversions(network_id)
    truth = truth[(truth.stored_at >= pd.Timestamp(start)) & (truth.stored_at < pd.Timestamp(end))]
    assert stored == {int(r.conversion_id): r.stored_at.to_pydatetime() for r in truth.itertuples()}


def run_across_the_fall_back(project, key: str, network_id: str, change: datetime, shift: timedelta) -> None:
    truth = project.world.ground_truth_conversions(network_id)
    repeated = truth[
        (truth.converted_at >= pd.Timestamp(change - shift)) & (truth.converted_at < pd.Timestamp(change + shift))
    ]
    assert (repeated.converted_at < pd.Timestamp(change)).sum() >= 3 and (
        repeated.converted_at >= pd.Timestamp(change)
    ).sum() >= 3

    first_hour = (change - shift).replace(minute=0)
    assert project.sync(key, end=first_hour - HOUR, days=1).success  # the offers, and the day before
    # The partitions around the change, one run each: they start before, inside and after the repeated
    # hour's occurrences (its wall times are asked for whole by every one that touches it).
    for hour in range(-1, 3):
        sync_hour(project, key, first_hour + hour * HOUR)
    window = (first_hour - HOUR - timedelta(days=1), first_hour + 3 * HOUR)
    assert_nothing_lost(project, key, network_id, *window)

    end = first_hour + timedelta(days=1)
    assert project.sync(key, end=end, days=3).success  # a wider sweep stores the same instants
    assert_nothing_lost(project, key, network_id, end - timedelta(days=3), end)

    # The repeated hour's conversions are attributed as the ground truth says: a conversion in the
    # second occurrence whose click came in the first (at a later wall time) keeps its click.
    attributed = {
        r[0]: r[1:]
        for r in project.query(
            "SELECT conversion_id, attribution_method, click_id FROM analytics.attributed_conversions WHERE network = $n",
            {"n": key},
        )
    }
    clicked_first = 0
    for row in repeated.itertuples():
        method, click_id = attributed[row.conversion_id]
        assert method == row.attribution_method, row.conversion_id
        if method in ("ad_id_click", "sub_id_click"):
            assert click_id == row.click_id
            clicked_first += row.converted_at >= pd.Timestamp(change) and row.clicked_at < pd.Timestamp(change)
    assert clicked_first >= 2


def test_new_york_fall_back(project):
    """acme (America/New_York), 2026-11-01: 01:00-01:59:59 at 05:00 UTC (EDT) and again at 06:00 (EST)."""
    run_across_the_fall_back(project, "acme", "acmenet", datetime(2026, 11, 1, 6, tzinfo=UTC), HOUR)


@pytest.fixture
def adelaide_project(tmp_path, monkeypatch):
    """cobalt in Australia/Adelaide (+10:30 to +09:30), 2026-04-05: 02:00-02:59:59 at 15:30 UTC and
    again at 16:30, so hourly UTC partitions start in the middle of each occurrence."""
    acme, bolt, cobalt = DEFAULT_NETWORKS
    world = SandboxWorld.generate(
        seed=11,
        anchor=datetime(2026, 4, 10, 12, tzinfo=UTC),
        history_days=10,
        conversions_per_network=800,
        networks=(acme, bolt, replace(cobalt, timezone="Australia/Adelaide")),
    )
    server, project = make_project(world, tmp_path, monkeypatch, partitions_start=None)  # an April world
    project.rebuild(cobalt={"timezone": "Australia/Adelaide"})
    yield project
    server.stop()


def test_half_hour_zone_fall_back(adelaide_project):
    run_across_the_fall_back(adelaide_project, "cobalt", "cobaltads", datetime(2026, 4, 4, 16, 30, tzinfo=UTC), HOUR)
