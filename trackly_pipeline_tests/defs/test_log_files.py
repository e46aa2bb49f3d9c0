"""A Trackly log file that cannot be loaded, in a whole Dagster run: the step fails naming the file,
ops.sync_log says so, attribution and the rollups wait (nothing is attributed on a log with a hole
in it), and once the file is fixed the next run loads everything and catches up."""

from __future__ import annotations

import duckdb
import pytest

from trackly_pipeline.defs.assets.attribution import attributed_asset_key
from trackly_pipeline.defs.assets.rollups import ROLLUPS
from trackly_pipeline.defs.assets.trackly_logs import CLICKS, MESSAGES

pytestmark = pytest.mark.slow


def materialized(result) -> set:
    return {event.asset_key for event in result.get_asset_materialization_events()}


def test_a_bad_message_file_fails_the_load_naming_it_and_attribution_waits(synced):
    project = synced("acme")
    attributed = project.query("SELECT count(*) FROM analytics.attributed_conversions")[0][0]
    loaded = project.query("SELECT count(*) FROM trackly.messages")[0][0]

    bad = project.root / "logs" / "messages" / "zz-late.parquet"
    duckdb.sql(
        "SELECT 'm9999999' AS message_id, 'seven' AS creative_id, 2 AS campaign_id, 3 AS contact_id, "
        "4 AS sending_list_id, TIMESTAMPTZ '2026-11-20 10:00:00+00' AS sent_at"
    ).write_parquet(str(bad))
    failed = project.sync("acme")
    assert not failed.success
    (failure,) = failed.get_step_failure_events()
    message = failure.event_specific_data.error.message
    assert "Loading trackly.messages failed: LogFileError: " in message
    assert f"{bad}: column creative_id, data row 1: 'seven' cannot be stored as BIGINT" in message
    done = materialized(failed)
    assert CLICKS in done and MESSAGES not in done
    assert attributed_asset_key("acme") not in done and not done & set(ROLLUPS)  # they wait for the messages
    assert project.query("SELECT count(*) FROM trackly.messages")[0][0] == loaded
    assert project.query("SELECT count(*) FROM analytics.attributed_conversions")[0][0] == attributed
    ((status, _rows, error),) = project.query(
        "SELECT status, rows, error FROM ops.sync_log WHERE network = '*' AND kind = 'trackly.messages' "
        "ORDER BY started_at DESC LIMIT 1"
    )
    assert status == "failed" and error.startswith(f"LogFileError: {bad}: column creative_id")
    assert project.query(
        "SELECT status FROM ops.sync_log WHERE kind = 'trackly.clicks' ORDER BY started_at DESC LIMIT 1"
    ) == [("success",)]

    duckdb.sql(
        "SELECT 'm9999999' AS message_id, 7 AS creative_id, 2 AS campaign_id, 3 AS contact_id, "
        "4 AS sending_list_id, TIMESTAMPTZ '2026-11-20 10:00:00+00' AS sent_at"
    ).write_parquet(str(bad))
    repaired = project.sync("acme")
    assert repaired.success
    assert {MESSAGES, attributed_asset_key("acme"), *ROLLUPS} <= materialized(repaired)
    assert project.query("SELECT count(*) FROM trackly.messages")[0][0] == loaded + 1
    assert project.query(
        "SELECT status, rows FROM ops.sync_log WHERE kind = 'trackly.messages' ORDER BY started_at DESC LIMIT 1"
    ) == [("success", 1)]
