"""`trackly network resweep KEY` (defs/resweep.py, network_commands.py) where a review found it wrong
(issue 16.7): a change to an affiliate_unique field is a re-sweep, a zone correction that moves the
history before partitions_start is refused up front naming the fix, and bad input gives one line
saying what to do."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from trackly_pipeline import network_commands
from trackly_pipeline.cli import main as trackly_main
from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.partitions import partition_hour
from trackly_pipeline.defs.resweep import plan_resweep, run_resweep
from trackly_pipeline.sandbox.expected_outputs import expected_attribution, expected_conversions, read_fx_rates
from trackly_pipeline.warehouse.network_terms import NetworkTermsChanged

from .conftest import table_checksums, write_config
from .test_locked_warehouse import hold_lock, release
from .test_network_terms import assert_history_is_ground_truth, step_failures

pytestmark = pytest.mark.slow

COBALT_ZONE = "Asia/Kolkata"  # cobalt's TUNE: Trackly's message id travels in affiliate_unique1
ACME_ZONE = "America/New_York"


def cli(monkeypatch, project, capsys, *args: str) -> tuple[int, str, str]:
    """`trackly ARGS` as an operator runs it: its exit code and output (a traceback fails the test)."""
    monkeypatch.setenv("TRACKLY_CONFIG", str(project.root / "trackly.yaml"))
    monkeypatch.setenv("DAGSTER_HOME", str(project.root))
    capsys.readouterr()
    code = trackly_main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_change_to_an_affiliate_unique_field_resweeps_to_the_ground_truth(project):
    project.rebuild(cobalt={"message_id_field": "aff_sub"})  # wrong: the affiliate_unique fields are not asked for
    assert project.sync("cobalt", days=5, with_offers=False).success
    project.rebuild()  # corrected: affiliate_unique1
    plan = plan_resweep(project.settings, project.settings.network("cobalt"), COBALT_ZONE, project.world.clock.now())
    assert plan.sweep, "the stored rows were swept without affiliate_unique1: TUNE must be asked again"
    result = run_resweep(project.defs, project.settings, project.instance, plan)
    assert result.success, step_failures(result)
    start, end = partition_hour(plan.first_key), partition_hour(plan.last_key) + timedelta(hours=1)
    truth = expected_conversions(
        project.world, start, end, read_fx_rates(project.root / "fx_rates.csv"), "USD", network_keys={"cobalt"}
    )
    want = expected_attribution(project.world, truth).expected_method.value_counts().to_dict()
    got = dict(
        project.query(
            "SELECT attribution_method, count(*) FROM analytics.attributed_conversions "
            "WHERE network = 'cobalt' GROUP BY 1"
        )
    )
    assert got == want


START = "2026-11-15-12:00"  # the deployment's first hour; acme's history starts there


def rebuild_with_start(project, start: str, **overrides) -> None:
    path = write_config(project.root, project.server.api_url, overrides)
    config = yaml.safe_load(path.read_text())
    config["partitions_start"] = start
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    project.settings = load_config(path)
    project.defs = build_definitions(project.settings, clock=project.world.clock)


def test_a_zone_fix_moving_history_before_partitions_start_is_refused_naming_the_start_to_set(project):
    # acme's TUNE reports in America/New_York; the yaml said Pacific/Honolulu (5 h west): read again
    # in the right zone, the first hours' conversions fall before partitions_start.
    rebuild_with_start(project, START, acme={"timezone": "Pacific/Honolulu"})
    assert project.sync("acme", days=5).success
    rebuild_with_start(project, START)
    before = table_checksums(project)
    with pytest.raises(NetworkTermsChanged, match=r"before partitions_start \(2026-11-15 12:00\)") as refused:
        plan_resweep(project.settings, project.settings.network("acme"), ACME_ZONE, project.world.clock.now())
    assert table_checksums(project) == before, "nothing is written"

    # What the refusal says to do: move partitions_start back to the hour it names, and run again.
    new_start = refused.value.args[0].split("Set partitions_start in trackly.yaml to ")[1].split(" ")[0]
    assert partition_hour(new_start) < partition_hour(START)
    rebuild_with_start(project, new_start)
    plan = plan_resweep(project.settings, project.settings.network("acme"), ACME_ZONE, project.world.clock.now())
    result = run_resweep(project.defs, project.settings, project.instance, plan)
    assert result.success, step_failures(result)
    assert_history_is_ground_truth(project, plan)


def test_resweep_with_a_token_tune_refuses_says_what_to_do(project, monkeypatch, capsys):
    assert project.sync("bolt", with_offers=False).success
    monkeypatch.setenv("TUNE_BOLT_TOKEN", "x" * 32)  # bolt's zone is asked of TUNE, which refuses the token
    code, out, err = cli(monkeypatch, project, capsys, "network", "resweep", "bolt")
    assert code == 1 and out == "", (out, err)
    assert err.startswith("trackly network resweep: TUNE did not give network 'bolt'") and err.count("\n") == 1, err
    assert "x" * 32 not in err


def test_resweep_without_a_warehouse_creates_none(project, monkeypatch, capsys):
    code, out, err = cli(monkeypatch, project, capsys, "network", "resweep", "acme")
    assert (code, out) == (1, "") and err.startswith("trackly network resweep: no warehouse at"), err
    assert not project.settings.duckdb_path.exists()


def test_resweep_on_a_locked_warehouse_says_so_in_one_line(synced, monkeypatch, capsys):
    project = synced("acme", with_offers=False)
    monkeypatch.setattr(network_commands, "LOCK_TIMEOUT_S", 0.5)
    holder = hold_lock(project)
    try:
        code, out, err = cli(monkeypatch, project, capsys, "network", "resweep", "acme")
    finally:
        release(holder)
    assert (code, out) == (1, "") and err.startswith("trackly network resweep: ") and err.count("\n") == 1, err
    assert "locked" in err, err
