"""What each hourly partition of a sync shows in the UI: its own counts, read back from the Dagster
instance after a real run against the sandbox, against the warehouse and the sandbox's ground truth.
(Dagster copies a MaterializeResult's metadata to every partition of a single-run backfill: each of
the 168 hours showed the whole window's row count.)"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import dagster as dg
import pytest

from trackly_pipeline.defs.assets.attribution import METHODS, attributed_asset_key
from trackly_pipeline.defs.assets.conversions import conversions_asset_key
from trackly_pipeline.defs.partitions import partition_key

from .test_pipeline_ground_truth import window_truth

pytestmark = pytest.mark.slow

HOURS = 168
# Per hour, Dagster writes a planned and a done materialization of each partitioned asset (4 events).
# A sync run's other events (run and step events, the unpartitioned assets, checks, logs) measured
# 80 for acme's sync with its offers; the bound leaves room for a few, not one more per hour.
EVENTS_PER_HOUR = 4
OTHER_EVENTS = 100


def materializations(project, asset_key: dg.AssetKey, run_id: str) -> dict[str, dict]:
    """The run's materializations of an asset, by partition, as stored in the instance."""
    records = project.instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=asset_key), limit=10_000).records
    found: dict[str, dict] = {}
    for record in records:
        if record.run_id == run_id:
            event = record.asset_materialization
            assert event.partition not in found
            found[event.partition] = {key: value.value for key, value in event.metadata.items()}
    return found


def by_hour(moments) -> Counter:
    return Counter(partition_key(m.to_pydatetime().replace(minute=0, second=0, microsecond=0)) for m in moments)


def test_each_hour_of_a_sync_shows_its_own_counts_and_the_window_once(project):
    result = project.sync("acme")
    assert result.success
    end = project.world.clock.now()
    keys = [partition_key(end - timedelta(hours=HOURS - h)) for h in range(HOURS)]
    truth = window_truth(project)
    truth = truth[truth.network_key == "acme"]
    truth_rows = by_hour(truth.converted_at)
    stored_rows = Counter(
        partition_key(hour)
        for (hour,) in project.query(
            "SELECT time_bucket(INTERVAL 1 HOUR, converted_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') FROM tune.conversions "
            "WHERE network = 'acme' AND converted_at >= $start AND converted_at < $end",
            {"start": end - timedelta(hours=HOURS), "end": end},
        )
    )
    assert stored_rows == truth_rows and len(truth_rows) > 24  # many hours, with different counts
    assert len(set(truth_rows.values())) > 1

    sweep = materializations(project, conversions_asset_key("acme"), result.run_id)
    assert sorted(sweep) == keys  # one materialization per hour
    assert {k: m["dagster/row_count"] for k, m in sweep.items()} == {k: truth_rows[k] for k in keys}
    # The first sync sees every conversion for the first time.
    assert {k: (m["new"], m["changed"]) for k, m in sweep.items()} == {k: (truth_rows[k], 0) for k in keys}
    # The sweep's own figures appear once, on the last hour, and the hours add up to them.
    assert [k for k, m in sweep.items() if "window" in m] == [keys[-1]]
    last = sweep[keys[-1]]
    assert (
        last["window_rows"] == last["window_new"] == len(truth) == sum(m["dagster/row_count"] for m in sweep.values())
    )
    assert (
        last["sync_id"]
        == project.query("SELECT sync_id FROM ops.sync_log WHERE network = 'acme' AND kind = 'conversions'")[0][0]
    )

    attributed = materializations(project, attributed_asset_key("acme"), result.run_id)
    assert sorted(attributed) == keys
    for method in METHODS:
        expected = by_hour(truth[truth.attribution_method == method].converted_at)
        assert {k: m[method] for k, m in attributed.items()} == {k: expected[k] for k in keys}, method
    assert {k: m["dagster/row_count"] for k, m in attributed.items()} == {k: truth_rows[k] for k in keys}
    assert [k for k, m in attributed.items() if "window" in m] == [keys[-1]]
    assert attributed[keys[-1]]["window_rows"] == len(truth)

    # Bounded: one materialization per hour and asset, nothing else per hour.
    assert len(project.instance.all_logs(result.run_id)) <= EVENTS_PER_HOUR * HOURS + OTHER_EVENTS
