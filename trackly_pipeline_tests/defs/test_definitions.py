"""The code location Dagster loads (workspace.yaml, `dg`) holds, for every network configured in
trackly.yaml, its assets, checks, jobs, schedule and TUNE resource, and the shared ones once; and it
is loadable. No sandbox, no run: it takes well under a second."""

from __future__ import annotations

import runpy

import dagster as dg
import pytest
import yaml

NETWORKS = [
    {
        "key": "north",
        "network_id": "northnet",
        "network_token_env": "TUNE_NORTH_TOKEN",
        "affiliate_id": "11",
        "base_url": "https://t.north.example",
    },
    {
        "key": "south_2",
        "network_id": "southmedia",
        "network_token_env": "TUNE_SOUTH_TOKEN",
        "affiliate_id": "22",
        "base_url": "https://t.south.example",
        "api_url": "http://127.0.0.1:9/Apiv3/json",
        "message_id_field": "affiliate_unique2",
    },
]
SHARED_ASSETS = {
    "trackly/click_log_files",
    "trackly/message_log_files",
    "trackly/clicks",
    "trackly/messages",
    "analytics/revenue_by_message",
    "analytics/revenue_by_creative",
    "analytics/revenue_by_offer",
    "analytics/payout_mismatches",
}
SHARED_CHECKS = {
    ("analytics/revenue_by_offer", "fx_rates_complete"),
    ("analytics/revenue_by_offer", "stored_networks_configured"),
    ("analytics/payout_mismatches", "no_actionable_payout_mismatches"),
}


def load_code_location(tmp_path, monkeypatch, warehouse: dict | None = None) -> tuple[dg.Definitions, list[str]]:
    """The definitions module loaded as Dagster loads it (TRACKLY_CONFIG names the file), and the
    configured network keys."""
    path = tmp_path / "trackly.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "trackly": {"clicks": "logs/clicks/*.parquet", "messages": "logs/messages/*.parquet"},
                "postback_base_url": "https://app.example.com",
                "networks": NETWORKS,
                **({"warehouse": warehouse} if warehouse else {}),
            }
        )
    )
    monkeypatch.setenv("TRACKLY_CONFIG", str(path))
    for network in NETWORKS:
        monkeypatch.setenv(network["network_token_env"], f"{network['key']}-token-0123456789abcdef")
    module = runpy.run_module("trackly_pipeline.defs.definitions")  # afresh: no module cached from elsewhere
    return module["defs"], [network["key"] for network in yaml.safe_load(path.read_text())["networks"]]


@pytest.fixture
def code_location(tmp_path, monkeypatch) -> tuple[dg.Definitions, list[str]]:
    return load_code_location(tmp_path, monkeypatch)


def test_every_configured_network_has_its_definitions(code_location):
    defs, keys = code_location
    dg.Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()

    assets = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert assets == SHARED_ASSETS | {
        f"{prefix}/{key}/{name}"
        for key in keys
        for prefix, name in (("tune", "offers"), ("tune", "conversions"), ("analytics", "attributed_conversions"))
    }

    checks = {(check.asset_key.to_user_string(), check.name) for check in repository.asset_graph.asset_check_keys}
    assert checks == SHARED_CHECKS | {
        check
        for key in keys
        for check in (
            (f"tune/{key}/conversions", "no_duplicate_conversions"),
            (f"tune/{key}/conversions", "no_stale_conversions"),
            (f"tune/{key}/conversions", "reconciles_with_tune"),
            (f"analytics/{key}/attributed_conversions", "sync_is_fresh"),
            (f"analytics/{key}/attributed_conversions", "unattributed_share"),
        )
    }

    jobs = {job.name for job in repository.get_all_jobs()} - {"__ASSET_JOB"}
    assert jobs == {"sync_freshness"} | {
        f"tune_{key}_{job}" for key in keys for job in ("sync", "test_connection", "reconcile")
    }

    schedules = {schedule.name: schedule.job_name for schedule in repository.schedule_defs}
    assert schedules == {"sync_freshness_hourly": "sync_freshness"} | {
        f"tune_{key}_hourly": f"tune_{key}_sync" for key in keys
    }

    assert set(defs.resources) == {"warehouse", "clock"} | {f"tune_{key}" for key in keys}


def test_each_network_resource_is_its_own(code_location):
    """Each network's steps get its own API settings, and its token stays a variable until a run."""
    defs, keys = code_location
    for key, network in zip(keys, NETWORKS, strict=True):
        resource = defs.resources[f"tune_{key}"]
        assert resource.network_id == network["network_id"]
        assert isinstance(resource.token, dg.EnvVar) and resource.token == network["network_token_env"]


def test_on_a_lake_the_code_location_loads_with_the_upkeep_job_and_per_network_pools(tmp_path, monkeypatch):
    """Nothing connects to the lake to load (its catalog need not answer)."""
    lake = {"backend": "ducklake", "catalog": "dbname=lake host=127.0.0.1 port=9", "data_path": "lake"}
    defs, keys = load_code_location(tmp_path, monkeypatch, lake)
    dg.Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()
    jobs = {job.name for job in repository.get_all_jobs()} - {"__ASSET_JOB"}
    assert jobs == {"sync_freshness", "lake_upkeep"} | {
        f"tune_{key}_{job}" for key in keys for job in ("sync", "test_connection", "reconcile")
    }
    assert {schedule.name for schedule in repository.schedule_defs} >= {"lake_upkeep_daily"}
    pools = {
        key.to_user_string(): repository.asset_graph.get(key).pools
        for key in repository.asset_graph.get_all_asset_keys()
    }
    for key in keys:
        assert pools[f"analytics/{key}/attributed_conversions"] == {f"lake_{key}"}
    assert pools["analytics/revenue_by_offer"] == {"lake_shared"}
    assert "duckdb" not in set().union(*(p for p in pools.values() if p))  # external specs have none
