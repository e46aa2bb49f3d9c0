"""Offer import (auto-sync and the manual "select offers to import" step), the offer listing, and
test connection from Dagster and from the command line."""

from __future__ import annotations

import dagster as dg
import pytest

from trackly_pipeline.cli import main as trackly_main
from trackly_pipeline.defs.assets.offers import offers_asset_key
from trackly_pipeline.sandbox import FaultRule

from .conftest import table_checksums

pytestmark = pytest.mark.slow


def materialize_offers(project, key: str, import_ids: list[int] | None = None) -> dg.ExecuteInProcessResult:
    op_name = "__".join(offers_asset_key(key).path)
    run_config = {"ops": {op_name: {"config": {"import_offer_ids": import_ids}}}} if import_ids is not None else None
    job = project.defs.get_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=project.instance, asset_selection=[offers_asset_key(key)], run_config=run_config, raise_on_error=False
    )


def test_auto_sync_imports_the_whole_catalog_with_links(project):
    assert materialize_offers(project, "acme").success
    truth = project.world.ground_truth_offers("acmenet")
    rows = project.query(
        "SELECT offer_id, name, payout, imported, tracking_url, postback_url FROM tune.offers "
        "WHERE network = 'acme' ORDER BY offer_id"
    )
    assert [r[0] for r in rows] == sorted(truth.offer_id)
    assert all(imported for *_, imported, _, _ in rows)
    offer_id, name, _, _, tracking_url, postback_url = rows[0]
    assert name.startswith("ACME ")
    assert tracking_url == (
        f"https://clicks.itstracking.com/aff_c?offer_id={offer_id}&aff_id=1001"
        "&aff_sub={click_id}&mid={{messageId}}"
    )
    assert postback_url.startswith("https://app.example.com/api/postbacks/tune?")
    assert "click_id={aff_sub}" in postback_url and "payout={payout}" in postback_url


def test_manual_import_marks_only_the_chosen_offers_and_keeps_them(project):
    truth = sorted(project.world.ground_truth_offers("cobaltads").offer_id)
    chosen = truth[:3]
    assert materialize_offers(project, "cobalt", chosen).success
    imported = [
        r[0] for r in project.query("SELECT offer_id FROM tune.offers WHERE network = 'cobalt' AND imported ORDER BY 1")
    ]
    assert imported == chosen
    # a later sync (nothing chosen) keeps them imported; the whole catalog stays listed
    assert materialize_offers(project, "cobalt").success
    assert project.query("SELECT count(*), count(*) FILTER (imported) FROM tune.offers WHERE network = 'cobalt'")[
        0
    ] == (len(truth), 3)
    url = project.query("SELECT tracking_url FROM tune.offers WHERE network = 'cobalt' LIMIT 1")[0][0]
    assert "aff_unique1={{messageId}}" in url  # cobalt carries the message id in affiliate_unique1


def test_importing_an_unknown_offer_fails_and_changes_nothing(project):
    assert materialize_offers(project, "cobalt").success
    before = project.query("SELECT * EXCLUDE (synced_at) FROM tune.offers ORDER BY ALL")
    result = materialize_offers(project, "cobalt", [999999])
    assert not result.success
    assert "999999" in result.get_step_failure_events()[0].event_specific_data.error.message
    assert project.query("SELECT * EXCLUDE (synced_at) FROM tune.offers ORDER BY ALL") == before


def test_offer_listing_command_shows_import_state(project, monkeypatch, capsys):
    materialize_offers(project, "cobalt", [sorted(project.world.ground_truth_offers("cobaltads").offer_id)[0]])
    monkeypatch.setenv("TRACKLY_CONFIG", str(project.root / "trackly.yaml"))
    assert trackly_main(["offers", "cobalt"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()[:1].isdigit()]
    assert len(lines) == len(project.world.ground_truth_offers("cobaltads"))
    assert sum(" yes " in line for line in lines) == 1


def test_connection_job_passes_and_fails_clearly(project, monkeypatch):
    ok = project.defs.get_job_def("tune_acme_test_connection").execute_in_process(instance=project.instance)
    assert ok.success
    monkeypatch.setenv("TUNE_ACME_TOKEN", "wrong-token-for-acme")
    bad = project.defs.get_job_def("tune_acme_test_connection").execute_in_process(
        instance=project.instance, raise_on_error=False
    )
    assert not bad.success
    message = bad.get_step_failure_events()[0].event_specific_data.error.message
    assert "bad_credentials" in message and "wrong-token-for-acme" not in message
    assert "TUNE rejected the network id or the token (it does not say which)" in message


@pytest.mark.parametrize(
    ("override", "outcome"),
    [
        ({"network_id": "nosuchnet"}, "bad_credentials"),
        ({"api_url": "http://127.0.0.1:9/Apiv3/json"}, "unreachable"),
    ],
)
def test_connection_command_names_the_problem(project, monkeypatch, capsys, override, outcome):
    project.rebuild(bolt=override)
    monkeypatch.setenv("TRACKLY_CONFIG", str(project.root / "trackly.yaml"))
    assert trackly_main(["test-connection"]) == 1
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert " OK " in lines["acme"] and outcome in lines["bolt"]


def test_an_offer_catalog_short_of_offers_fails_and_forgets_no_choice(project):
    """A capped page leaves the last offers out; storing that catalog would drop them and with them
    the choice to import them. The sync fails instead and the next one finds every choice intact."""
    truth = sorted(project.world.ground_truth_offers("cobaltads").offer_id)
    chosen = truth[-3:]  # the capped page drops the catalog's last offer (sorted by id)
    assert materialize_offers(project, "cobalt", chosen).success
    before = table_checksums(project)

    project.server.add_fault(FaultRule("short_page", method="Offer::findAll"))
    result = materialize_offers(project, "cobalt")
    assert not result.success
    reason = (
        f"TUNE Offer::findAll said {len(truth):,} offers match but returned {len(truth) - 1:,} over 1 page "
        f"of 5,000; if the network caps rows per page, lower page_size"
    )
    assert reason in result.get_step_failure_events()[0].event_specific_data.error.message
    assert table_checksums(project) == before
    assert project.query(
        "SELECT status, error FROM ops.sync_log WHERE network = 'cobalt' AND kind = 'offers' "
        "ORDER BY started_at DESC LIMIT 1"
    )[0] == ("failed", f"TuneIncompleteSweepError: {reason}")

    assert materialize_offers(project, "cobalt").success
    assert [
        r[0] for r in project.query("SELECT offer_id FROM tune.offers WHERE network = 'cobalt' AND imported ORDER BY 1")
    ] == chosen
