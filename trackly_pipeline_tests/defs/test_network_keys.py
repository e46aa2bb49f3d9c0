"""A network key renamed or removed in trackly.yaml (issue 16.2): the sync of a renamed key and the
rollups refuse (totals and the analysts' copy unchanged, check `stored_networks_configured` fails)
until `trackly network rename` or `forget` settles the stored key; then every conversion counts once
and revenue equals the sandbox's ground truth."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import duckdb
import pytest

from trackly_pipeline.cli import main as trackly_main
from trackly_pipeline.defs.checks import NETWORKS_CHECK
from trackly_pipeline.defs.jobs import FRESHNESS_JOB
from trackly_pipeline.sandbox.expected_outputs import expected_conversions, read_fx_rates
from trackly_pipeline.warehouse.database import Warehouse

pytestmark = pytest.mark.slow


def truth(project, keys: set[str]):
    end = project.world.clock.now().replace(minute=0, second=0, microsecond=0)
    return expected_conversions(
        project.world,
        end - timedelta(days=7),
        end,
        read_fx_rates(project.root / "fx_rates.csv"),
        "USD",
        network_keys=keys,
    )


def approved_total(conversions) -> Decimal:
    return round(sum(conversions[conversions.status == "approved"].payout_reporting, Decimal(0)), 2)


def totals(project) -> dict[str, dict]:
    """Revenue, conversions and clicks per network in revenue_by_offer, in the warehouse and in the
    analysts' copy."""
    sql = (
        "SELECT network, round(sum(revenue), 2), sum(conversions), sum(clicks) FROM analytics.revenue_by_offer "
        "GROUP BY 1 ORDER BY 1"
    )
    with duckdb.connect(str(Warehouse(project.settings.duckdb_path).published_path), read_only=True) as copy:
        published = copy.execute(sql).fetchall()
    return {"warehouse": {r[0]: r[1:] for r in project.query(sql)}, "copy": {r[0]: r[1:] for r in published}}


def keys_stored(project) -> set[tuple[str, str]]:
    """(table, key) of every row under a network key, the integration log aside."""
    tables = [
        t
        for (t,) in project.query(
            "SELECT DISTINCT schema_name || '.' || table_name FROM duckdb_columns() WHERE database_name = 'warehouse' "
            "AND column_name = 'network' AND NOT (schema_name = 'ops' AND table_name IN ('sync_log', 'networks'))"
        )
    ]
    return {(table, key) for table in tables for (key,) in project.query(f"SELECT DISTINCT network FROM {table}")}


def failures(result) -> str:
    return "\n".join(event.event_specific_data.error.to_string() for event in result.get_step_failure_events())


def networks_check(project):
    result = project.defs.get_job_def(FRESHNESS_JOB).execute_in_process(instance=project.instance, raise_on_error=False)
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == NETWORKS_CHECK]
    return evaluation


def trackly(monkeypatch, project, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("TRACKLY_CONFIG", str(project.root / "trackly.yaml"))
    capsys.readouterr()  # what the runs before it printed
    code = trackly_main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_renamed_key_is_refused_until_renamed_then_every_conversion_counts_once(synced, monkeypatch, capsys):
    project = synced("acme")
    acme = truth(project, {"acme"})
    before = totals(project)
    assert before["warehouse"] == before["copy"]
    revenue, conversions, clicks = before["copy"]["acme"]
    assert revenue == approved_total(acme) and conversions > 0 and clicks > 0

    project.rebuild(acme={"key": "acme_us"})  # same network_id and affiliate_id, a new key
    refused = project.sync("acme_us")
    assert not refused.success
    assert "`trackly network rename acme acme_us`" in failures(refused)
    assert totals(project) == before  # nothing stored twice, in the warehouse or the analysts' copy
    assert "acme_us" not in {key for _, key in keys_stored(project)}
    evaluation = networks_check(project)
    assert not evaluation.passed and "'acme'" in evaluation.description

    code, out, err = trackly(monkeypatch, project, capsys, "network", "rename", "acme", "acme_us")
    assert (code, err) == (0, "")
    assert out.startswith("renamed 'acme' to 'acme_us': moved") and "tune.conversions" in out

    assert project.sync("acme_us").success
    keys = {key for _, key in keys_stored(project)}
    assert "acme_us" in keys and "acme" not in keys
    stored = project.query(
        "SELECT conversion_id, attribution_method, click_id FROM analytics.attributed_conversions "
        "WHERE converted_at >= $start",
        {"start": acme.converted_at.min()},
    )
    assert sorted(r[0] for r in stored) == sorted(acme.conversion_id)  # once each
    methods = {r[0]: r[1:] for r in stored}
    for row in acme.itertuples():  # still attributed to their clicks
        assert methods[row.conversion_id][0] == row.attribution_method
        if row.attribution_method in ("ad_id_click", "sub_id_click"):
            assert methods[row.conversion_id][1] == row.click_id
    after = totals(project)
    renamed = {("acme_us" if key == "acme" else key): figures for key, figures in before["copy"].items()}
    assert after["warehouse"] == after["copy"] == renamed  # revenue, conversions and clicks counted once
    assert networks_check(project).passed


def test_a_removed_network_blocks_the_rollups_until_forgotten(synced, monkeypatch, capsys):
    project = synced("acme", "bolt")
    before = totals(project)
    assert before["copy"]["bolt"][0] > 0

    project.rebuild(bolt=None)
    refused = project.sync("acme")
    assert not refused.success
    error = failures(refused)
    assert "'bolt'" in error and "`trackly network forget bolt`" in error and "trackly network rename bolt" in error
    assert totals(project)["copy"] == before["copy"]  # analysts never see a total with a network no one syncs
    evaluation = networks_check(project)
    assert not evaluation.passed and "`trackly network forget bolt`" in evaluation.description

    code, out, err = trackly(monkeypatch, project, capsys, "network", "forget", "bolt")
    assert (code, err) == (0, "")
    assert out.startswith("forgot 'bolt': deleted")

    assert project.sync("acme").success
    assert "bolt" not in {key for _, key in keys_stored(project)}
    acme = truth(project, {"acme"})
    after = totals(project)
    assert after["warehouse"] == after["copy"]
    assert set(after["copy"]) == {"acme", "cobalt"}  # cobalt: its clicks, never synced
    assert after["copy"]["acme"] == before["copy"]["acme"] and after["copy"]["acme"][0] == approved_total(acme)
    assert sum(revenue for revenue, _, _ in after["copy"].values()) == approved_total(acme)  # cobalt never synced
    assert project.query("SELECT count(*) FROM ops.sync_log WHERE network = 'bolt'")[0][0] > 0  # its history stays
    assert networks_check(project).passed


def test_a_rename_that_respells_the_network_id_is_a_rename(synced, monkeypatch, capsys):
    """trackly.yaml compares network ids case aside (they name API hosts): so does the registry."""
    project = synced("acme")
    project.rebuild(acme={"key": "acme_us", "network_id": "AcmeNet"})
    assert "is the account stored under 'acme'" in failures(project.sync("acme_us", with_offers=False))
    code, _out, err = trackly(monkeypatch, project, capsys, "network", "rename", "acme", "acme_us")
    assert (code, err) == (0, ""), err


def old_warehouse_with_bolt_removed(project, **cobalt) -> None:
    """bolt (boltmedia, our affiliate id 2002) stored by a version without the registry, then taken out
    of trackly.yaml: its seeded identity knows the affiliate id only. cobalt is another TUNE network."""
    assert project.sync("bolt", with_offers=False).success
    with duckdb.connect(str(project.settings.duckdb_path)) as conn:
        conn.execute("DELETE FROM ops.stored_networks")  # seeded again by the next writing connection
        conn.execute("DELETE FROM ops.networks WHERE network = 'bolt'")  # rewritten from the yaml since
    project.rebuild(bolt=None, cobalt={"affiliate_id": "2002", **cobalt})


def test_another_network_with_the_same_affiliate_number_is_not_taken_for_a_rename(project):
    old_warehouse_with_bolt_removed(project)
    assert "is the account stored under 'bolt'" not in failures(project.sync("cobalt", with_offers=False))


def test_a_rename_of_a_key_whose_network_is_unknown_is_refused(project, monkeypatch, capsys):
    old_warehouse_with_bolt_removed(project, key="dart", network_id="dartnet")
    code, _out, err = trackly(monkeypatch, project, capsys, "network", "rename", "bolt", "dart")
    assert code == 1 and "the TUNE network 'bolt' stored its rows from is unknown" in err, err
    assert "`trackly network forget bolt`" in err
    assert project.query("SELECT count(*) FROM tune.conversions WHERE network = 'dart'") == [(0,)]
