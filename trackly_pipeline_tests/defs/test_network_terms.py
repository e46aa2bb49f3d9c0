"""A network's terms changed in trackly.yaml after its history was stored (issue 16.7): the sweep
and attribution refuse, naming the change and `trackly network resweep KEY`, and write nothing; the
re-sweep brings the whole stored history to the new terms, equal to the sandbox's ground truth.

The stored history is first read in wrong terms (acme's TUNE reports in America/New_York and carries
Trackly's id in aff_sub), then trackly.yaml is corrected: the ground truth is then the new terms'."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd
import pytest

from trackly_pipeline.cli import main as trackly_main
from trackly_pipeline.defs.partitions import partition_hour
from trackly_pipeline.defs.resweep import plan_resweep, run_resweep
from trackly_pipeline.sandbox.expected_outputs import expected_attribution, expected_conversions, read_fx_rates

from .conftest import ANCHOR, table_checksums
from .test_explained_attribution import assert_matches_oracle

pytestmark = pytest.mark.slow

ACME_ZONE = "America/New_York"  # the sandbox network's real zone
REFUSED = "trackly network resweep acme"


def step_failures(result) -> list[str]:
    return [
        event.step_key + ": " + event.event_specific_data.error.to_string()
        for event in result.all_events
        if event.is_step_failure
    ]


def vanished(project) -> int:
    return project.query("SELECT count(*) FROM tune.conversion_changes WHERE change = 'vanished'")[0][0]


def resweep(project, zone: str = ACME_ZONE):
    """What `trackly network resweep acme` does, at the sandbox's clock."""
    plan = plan_resweep(project.settings, project.settings.network("acme"), zone, project.world.clock.now())
    assert plan is not None
    result = run_resweep(project.defs, project.settings, project.instance, plan)
    assert result.success, step_failures(result)
    return plan


def assert_history_is_ground_truth(project, plan) -> None:
    """Every stored acme conversion is TUNE's, at the instant read in its real zone, attributed by
    its real field: the written rule's oracle over the ground truth of the re-swept hours."""
    start, end = partition_hour(plan.first_key), partition_hour(plan.last_key) + timedelta(hours=1)
    truth = expected_conversions(
        project.world, start, end, read_fx_rates(project.root / "fx_rates.csv"), "USD", network_keys={"acme"}
    )
    stored = dict(project.query("SELECT conversion_id, converted_at FROM tune.conversions WHERE network = 'acme'"))
    assert stored == {int(r.conversion_id): r.converted_at.to_pydatetime() for r in truth.itertuples()}
    assert_matches_oracle(project, expected_attribution(project.world, truth))


def test_changed_zone_then_field_refused_until_the_resweep(project):
    project.rebuild(acme={"timezone": "UTC", "message_id_field": "aff_sub2"})  # wrong terms
    assert project.sync("acme", days=15).success
    before = table_checksums(project)

    # The zone corrected: refused before anything is written, no conversion taken for vanished.
    project.rebuild(acme={"message_id_field": "aff_sub2"})
    result = project.sync("acme", with_offers=False)
    assert not result.success
    [failure] = step_failures(result)
    assert "tune__acme__conversions" in failure, failure
    assert f"timezone UTC -> {ACME_ZONE}" in failure and REFUSED in failure, failure
    assert vanished(project) == 0
    assert table_checksums(project) == before
    assert project.query(
        "SELECT status FROM ops.sync_log WHERE network = 'acme' AND kind = 'conversions' "
        "ORDER BY started_at DESC LIMIT 1"
    ) == [("failed",)]

    # The field corrected too: both named; still nothing written.
    project.rebuild()
    [failure] = step_failures(project.sync("acme", with_offers=False))
    assert f"timezone UTC -> {ACME_ZONE}" in failure and "message_id_field aff_sub2 -> aff_sub" in failure, failure
    assert vanished(project) == 0
    assert table_checksums(project) == before

    plan = resweep(project)
    assert plan.sweep
    assert vanished(project) == 0
    assert_history_is_ground_truth(project, plan)
    assert project.query(
        "SELECT swept_timezone, swept_message_id_field, attributed_message_id_field, "
        "attributed_timezone FROM ops.network_terms WHERE network = 'acme'"
    ) == [(ACME_ZONE, "aff_sub", "aff_sub", ACME_ZONE)]
    # From then on the hourly runs go on in the new terms.
    assert project.sync("acme", with_offers=False).success
    assert vanished(project) == 0


def test_changed_field_alone_needs_only_reattribution(synced):
    project = synced("acme", days=15, acme={"message_id_field": "aff_sub2"})
    attributed = {name: digest for name, digest in table_checksums(project).items() if name.startswith("analytics.")}

    project.rebuild()
    result = project.sync("acme", with_offers=False)
    [failure] = step_failures(result)
    assert "attributed_conversions" in failure, failure  # the sweep itself went on: it stores every sub id
    assert "message_id_field aff_sub2 -> aff_sub" in failure and "TUNE is not asked again" in failure, failure
    assert {
        name: digest for name, digest in table_checksums(project).items() if name.startswith("analytics.")
    } == attributed

    sweeps = project.query("SELECT count(*) FROM ops.sync_log WHERE kind = 'conversions'")
    plan = resweep(project)
    assert not plan.sweep
    assert project.query("SELECT count(*) FROM ops.sync_log WHERE kind = 'conversions'") == sweeps
    assert_history_is_ground_truth(project, plan)


def test_changed_affiliate_refused_then_resweep_forgets_the_old_account(project):
    assert project.sync("acme", days=15).success
    before = table_checksums(project)

    project.rebuild(acme={"affiliate_id": "1009"})
    [failure] = step_failures(project.sync("acme", with_offers=False))
    assert "affiliate_id 1001 -> 1009" in failure and REFUSED in failure, failure
    assert table_checksums(project) == before

    resweep(project)
    assert vanished(project) == 0
    assert project.query("SELECT count(*) FROM tune.conversions WHERE network = 'acme' AND affiliate_id = 1001") == [
        (0,)
    ]
    assert project.query(
        "SELECT DISTINCT change FROM tune.conversion_changes WHERE network = 'acme' AND change <> 'new'"
    ) == [("other_affiliate",)]


def test_the_command_reattributes_then_has_nothing_to_do(synced, tmp_path, monkeypatch, capsys):
    project = synced("acme", days=15, acme={"message_id_field": "aff_sub2"})
    project.rebuild()
    monkeypatch.setenv("TRACKLY_CONFIG", str(project.root / "trackly.yaml"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()

    assert trackly_main(["network", "resweep", "acme"]) == 0
    out = capsys.readouterr().out
    assert "message_id_field aff_sub2 -> aff_sub: re-attribute (no TUNE call)" in out and "succeeded" in out, out
    now = project.world.clock.now()
    truth = expected_conversions(
        project.world,
        now - timedelta(days=15),
        now,
        read_fx_rates(project.root / "fx_rates.csv"),
        "USD",
        network_keys={"acme"},
    )
    assert_matches_oracle(project, expected_attribution(project.world, truth))

    assert trackly_main(["network", "resweep", "acme"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_a_conversion_of_the_hour_still_going_is_not_taken_for_vanished(project):
    """The re-sweep ends at the last full hour. A conversion of the hour still going, stored hours
    earlier by the wrong zone (inside the re-sweep's hours), is after them in the right zone: TUNE
    does not return it, yet it is not vanished; it keeps its row, at its real instant."""
    later = project.world.ground_truth_conversions("acmenet", ANCHOR + timedelta(days=1))
    first_after = later[later.stored_at > pd.Timestamp(ANCHOR)].sort_values("stored_at").iloc[0]
    at, conversion_id = first_after.stored_at.to_pydatetime(), int(first_after.conversion_id)
    assert at.minute > 0  # inside an hour, so the hour still going when the clock is just past it
    project.world.clock.set(at + timedelta(seconds=1))
    project.rebuild(acme={"timezone": "UTC"})
    assert project.sync("acme", days=15).success
    assert project.query(
        "SELECT converted_at FROM tune.conversions WHERE conversion_id = $id", {"id": conversion_id}
    ) == [(at - timedelta(hours=5),)]  # New York's wall time, as UTC

    project.rebuild()
    plan = resweep(project)
    assert partition_hour(plan.last_key) + timedelta(hours=1) <= at
    assert vanished(project) == 0
    assert project.query(
        "SELECT converted_at FROM tune.conversions WHERE conversion_id = $id", {"id": conversion_id}
    ) == [(at,)]
    # Its attribution from the wrong zone's reading is gone; the next hourly run attributes it.
    assert project.query(
        "SELECT count(*) FROM analytics.attributed_conversions WHERE conversion_id = $id", {"id": conversion_id}
    ) == [(0,)]
    project.world.clock.set(at.replace(minute=0, second=0) + timedelta(hours=1))
    assert project.sync("acme", with_offers=False).success
    assert project.query(
        "SELECT converted_at FROM analytics.attributed_conversions WHERE conversion_id = $id", {"id": conversion_id}
    ) == [(at,)]
    assert vanished(project) == 0


def test_a_field_changed_with_the_upgrade_to_terms_is_refused(synced):
    """A warehouse written before ops.network_terms: the field its attribution used is in ops.networks."""
    project = synced("acme")
    with duckdb.connect(str(project.settings.duckdb_path)) as conn:
        conn.execute("DELETE FROM ops.network_terms")  # the upgrade creates the table empty
    project.rebuild(acme={"message_id_field": "aff_sub2"})
    result = project.sync("acme", days=1, with_offers=False)
    assert not result.success
    assert any("message_id_field aff_sub -> aff_sub2" in f and REFUSED in f for f in step_failures(result))
    assert project.query(
        "SELECT DISTINCT attributed_message_id_field FROM ops.network_terms WHERE network = 'acme'"
    ) == [("aff_sub",)]
