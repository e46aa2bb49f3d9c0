"""A real project around the sandbox: Trackly logs and rates on disk, a trackly.yaml pointing at
the sandbox over HTTP, a DuckDB file in tmp_path, and Dagster definitions built from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest
import yaml

from trackly_pipeline.config import TracklyConfig, load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.jobs import sync_assets, sync_job_name
from trackly_pipeline.defs.partitions import range_tags, trailing_window
from trackly_pipeline.sandbox import SandboxServer, SandboxWorld
from trackly_pipeline.warehouse.database import Warehouse

ANCHOR = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
EARLIEST = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass
class Project:
    world: SandboxWorld
    server: SandboxServer
    root: Path
    settings: TracklyConfig
    defs: dg.Definitions
    instance: dg.DagsterInstance
    second_acme: bool = False  # trackly.yaml has acme2 too (a world with SECOND_ACCOUNTS)

    def sync(self, network_key: str, end: datetime | None = None, days: int = 7, with_offers: bool = True,
             instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
        """Run a network's sync job over the `days` before `end` (default: the sandbox clock's hour);
        without the offer sync when `with_offers` is false (as on ticks where it is not due)."""
        end = end or self.world.clock.now()
        first, last = trailing_window(end, days, EARLIEST)
        job = self.defs.get_job_def(sync_job_name(network_key))
        selection = sync_assets(self.settings.network(network_key), with_offers=with_offers)
        return job.execute_in_process(
            instance=instance or self.instance, tags=range_tags(first, last), asset_selection=selection, raise_on_error=False
        )

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        with Warehouse(self.settings.duckdb_path).connect(read_only=True) as conn:
            return conn.execute(sql, params or {}).fetchall()

    def rebuild(self, **network_overrides) -> None:
        """Rewrite trackly.yaml with per-network overrides ({key: {field: value}}, or None to leave the
        network out: `write_config`) and reload."""
        write_config(self.root, self.server.api_url, network_overrides, second_acme=self.second_acme)
        self.settings = load_config(self.root / "trackly.yaml")
        self.defs = build_definitions(self.settings)


def network_entries(api_url: str) -> list[dict]:
    return [
        {"key": "acme", "network_id": "acmenet", "network_token_env": "TUNE_ACME_TOKEN", "api_url": api_url,
         "base_url": "https://clicks.itstracking.com", "affiliate_id": "1001", "message_id_field": "aff_sub",
         "offer_name_prefix": "ACME ", "global_url_params": {"mid": "{{messageId}}"},
         "offer_sync": {"auto": True, "frequency": "hourly"}, "timezone": "America/New_York"},
        {"key": "bolt", "network_id": "boltmedia", "network_token_env": "TUNE_BOLT_TOKEN", "api_url": api_url,
         "base_url": "https://track.bolt.example", "affiliate_id": "2002", "message_id_field": "aff_sub3",
         "offer_sync": {"auto": True, "frequency": "daily"}},  # no timezone: asked of the API
        {"key": "cobalt", "network_id": "cobaltads", "network_token_env": "TUNE_COBALT_TOKEN", "api_url": api_url,
         "base_url": "https://go.cobalt.example", "affiliate_id": "3003", "message_id_field": "affiliate_unique1",
         "offer_sync": {"auto": False}, "timezone": "Asia/Kolkata"},
    ]


def second_acme_entry(api_url: str) -> dict:
    """acme2: a second affiliate account of ours on acme's network id (sandbox SECOND_ACCOUNTS)."""
    return {"key": "acme2", "network_id": "acmenet", "network_token_env": "TUNE_ACME2_TOKEN", "api_url": api_url,
            "base_url": "https://clicks.itstracking.com", "affiliate_id": "1002", "message_id_field": "aff_sub",
            "offer_name_prefix": "ACME2 ", "offer_sync": {"auto": True, "frequency": "hourly"},
            "timezone": "America/New_York"}


def write_config(root: Path, api_url: str, overrides: dict | None = None, *, second_acme: bool = False) -> Path:
    """trackly.yaml for the sandbox; `overrides` {key: {field: value}} changes a network's fields (its
    `key` too: a renamed network), {key: None} leaves it out (a removed network)."""
    overrides = overrides or {}
    networks = network_entries(api_url) + ([second_acme_entry(api_url)] if second_acme else [])
    networks = [entry for entry in networks if overrides.get(entry["key"], {}) is not None]
    for entry in networks:
        entry.update(overrides.get(entry["key"], {}))
        entry.update(timeout_s=5, max_retries=2, backoff_base_s=0.01)
    config = {
        "warehouse": {"duckdb_path": "warehouse/trackly.duckdb"},
        "trackly": {"clicks": "logs/clicks/*.parquet", "messages": "logs/messages/*.parquet"},
        "fx_rates": "fx_rates.csv",
        "reporting_currency": "USD",
        "postback_base_url": "https://app.example.com",
        "networks": networks,
    }
    path = root / "trackly.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def session_world() -> SandboxWorld:
    return SandboxWorld.generate(seed=11, anchor=ANCHOR, history_days=20, conversions_per_network=800)


def make_project(world: SandboxWorld, root: Path, monkeypatch) -> tuple[SandboxServer, Project]:
    for name, token in world.token_env().items():
        monkeypatch.setenv(name, token)
    world.write_trackly_logs(root / "logs")
    world.write_fx_rates(root / "fx_rates.csv", "USD")
    server = SandboxServer(world, port=0)
    server.start()
    second_acme = any(account.key == "acme2" for account in world.accounts)  # configured when the world has it
    write_config(root, server.api_url, second_acme=second_acme)
    settings = load_config(root / "trackly.yaml")
    project = Project(world, server, root, settings, build_definitions(settings), dg.DagsterInstance.ephemeral(),
                      second_acme)
    return server, project


@pytest.fixture
def project(tmp_path, monkeypatch) -> Project:
    """A project over its own world (tests may move its clock)."""
    world = SandboxWorld.generate(seed=11, anchor=ANCHOR, history_days=20, conversions_per_network=800)
    server, project = make_project(world, tmp_path, monkeypatch)
    yield project
    server.stop()


def table_checksums(project) -> dict[str, str]:
    """A content checksum of every warehouse table but the sync log (which records every attempt)."""
    import hashlib

    if not project.settings.duckdb_path.exists():
        return {}
    with Warehouse(project.settings.duckdb_path).connect(read_only=True) as conn:
        tables = conn.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'warehouse' "
            "AND NOT (schema_name = 'ops' AND table_name = 'sync_log') ORDER BY ALL").fetchall()
        sums = {}
        for schema, table in tables:
            rows = conn.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL').fetchall()
            sums[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return sums


def pytest_configure(config) -> None:
    # `-m daemon` selects the tests that start a real dagster-daemon (a minute or two each).
    config.addinivalue_line("markers", "daemon: starts a real dagster-daemon (about two minutes)")
