"""A scheduled run that meets a warehouse written by an older version upgrades it and says so in
its Dagster event log (dagster.yaml manages the warehouse layer's Python logger)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
import yaml

from trackly_pipeline_tests.defs.test_schedules import PROJECT_INSTANCE

pytestmark = pytest.mark.slow


def test_a_run_that_upgrades_the_warehouse_logs_it_in_the_event_log(project):
    assert project.sync("acme", with_offers=False).success
    with duckdb.connect(str(project.settings.duckdb_path)) as older:  # as an older version left it
        older.execute("ALTER TABLE analytics.revenue_by_creative DROP COLUMN revenue_per_send")

    with dg.instance_for_test(overrides=yaml.safe_load(PROJECT_INSTANCE.read_text())) as instance:
        result = project.sync("acme", with_offers=False, instance=instance)
        assert result.success
        messages = [
            record.user_message for record in instance.all_logs(result.run_id) if "upgraded" in record.user_message
        ]
    assert len(messages) == 1
    assert "analytics.revenue_by_creative.revenue_per_send" in messages[0]
    assert str(project.settings.duckdb_path) in messages[0]
    assert project.query("SELECT count(revenue_per_send) > 0 FROM analytics.revenue_by_creative") == [(True,)]
