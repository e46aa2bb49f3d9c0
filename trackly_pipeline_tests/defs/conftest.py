"""A real project around the sandbox: Trackly logs and rates on disk, a trackly.yaml pointing at
the sandbox over HTTP, a DuckDB file beside them, and Dagster definitions built from it.

What is expensive is made once per session (per xdist worker) and copied into each test: the
standard world, its logs and rates, and warehouses after a test's opening syncs (`synced`)."""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import yaml

from trackly_pipeline.config import TracklyConfig, load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.jobs import sync_assets, sync_job_name
from trackly_pipeline.defs.partitions import partition_hour, range_tags, trailing_window
from trackly_pipeline.sandbox import SandboxServer, SandboxWorld
from trackly_pipeline.sandbox.clock import SandboxClock

ANCHOR = datetime(2026, 11, 20, 12, tzinfo=UTC)
# The tests' partitions_start: before the standard world's 20 days of history and the 45 days a wide
# sweep reaches back from ANCHOR. Not the default 2026-01-01: Dagster lists every hourly partition up
# to the wall clock about a dozen times per run, 0.13 s a time for the 8,000 hours since January
# (a quarter of a test's 7-day sync), 0.01 s for the 1,600 since October. A test of the default
# writes its config with `partitions_start=None`.
PARTITIONS_START = "2026-10-01-00:00"
EARLIEST = partition_hour(PARTITIONS_START)


@dataclass
class Project:
    world: SandboxWorld
    server: SandboxServer
    root: Path
    settings: TracklyConfig
    defs: dg.Definitions
    instance: dg.DagsterInstance
    second_acme: bool = False  # trackly.yaml has acme2 too (a world with SECOND_ACCOUNTS)

    def sync(
        self,
        network_key: str,
        end: datetime | None = None,
        days: int = 7,
        with_offers: bool = True,
        instance: dg.DagsterInstance | None = None,
    ) -> dg.ExecuteInProcessResult:
        """Run a network's sync job over the `days` before `end` (default: the sandbox clock's hour);
        without the offer sync when `with_offers` is false (as on ticks where it is not due)."""
        end = end or self.world.clock.now()
        first, last = trailing_window(end, days, partition_hour(self.settings.partitions_start))
        job = self.defs.get_job_def(sync_job_name(network_key))
        selection = sync_assets(self.settings.network(network_key), with_offers=with_offers)
        return job.execute_in_process(
            instance=instance or self.instance,
            tags=range_tags(first, last),
            asset_selection=selection,
            raise_on_error=False,
        )

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        with self.settings.warehouse().connect(read_only=True) as conn:
            return conn.execute(sql, params or {}).fetchall()

    def rebuild(self, **network_overrides) -> None:
        """Rewrite trackly.yaml with per-network overrides ({key: {field: value}}, or None to leave the
        network out: `write_config`) and reload, keeping the partitions_start it has."""
        write_config(
            self.root,
            self.server.api_url,
            network_overrides,
            second_acme=self.second_acme,
            partitions_start=self.settings.partitions_start,
        )
        self.settings = load_config(self.root / "trackly.yaml")
        self.defs = build_definitions(self.settings, clock=self.world.clock)


def network_entries(api_url: str) -> list[dict]:
    return [
        {
            "key": "acme",
            "network_id": "acmenet",
            "network_token_env": "TUNE_ACME_TOKEN",
            "api_url": api_url,
            "base_url": "https://clicks.itstracking.com",
            "affiliate_id": "1001",
            "message_id_field": "aff_sub",
            "offer_name_prefix": "ACME ",
            "global_url_params": {"mid": "{{messageId}}"},
            "offer_sync": {"auto": True, "frequency": "hourly"},
            "timezone": "America/New_York",
        },
        {
            "key": "bolt",
            "network_id": "boltmedia",
            "network_token_env": "TUNE_BOLT_TOKEN",
            "api_url": api_url,
            "base_url": "https://track.bolt.example",
            "affiliate_id": "2002",
            "message_id_field": "aff_sub3",
            "offer_sync": {"auto": True, "frequency": "daily"},
        },  # no timezone: asked of the API
        {
            "key": "cobalt",
            "network_id": "cobaltads",
            "network_token_env": "TUNE_COBALT_TOKEN",
            "api_url": api_url,
            "base_url": "https://go.cobalt.example",
            "affiliate_id": "3003",
            "message_id_field": "affiliate_unique1",
            "offer_sync": {"auto": False},
            "timezone": "Asia/Kolkata",
        },
    ]


def second_acme_entry(api_url: str) -> dict:
    """acme2: a second affiliate account of ours on acme's network id (sandbox SECOND_ACCOUNTS)."""
    return {
        "key": "acme2",
        "network_id": "acmenet",
        "network_token_env": "TUNE_ACME2_TOKEN",
        "api_url": api_url,
        "base_url": "https://clicks.itstracking.com",
        "affiliate_id": "1002",
        "message_id_field": "aff_sub",
        "offer_name_prefix": "ACME2 ",
        "offer_sync": {"auto": True, "frequency": "hourly"},
        "timezone": "America/New_York",
    }


def write_config(
    root: Path,
    api_url: str,
    overrides: dict | None = None,
    *,
    second_acme: bool = False,
    warehouse: dict | None = None,
    partitions_start: str | None = PARTITIONS_START,
) -> Path:
    """trackly.yaml for the sandbox; `overrides` {key: {field: value}} changes a network's fields (its
    `key` too: a renamed network), {key: None} leaves it out (a removed network); `warehouse`
    replaces the warehouse section (a lake); `partitions_start` None leaves the default."""
    overrides = overrides or {}
    networks = network_entries(api_url) + ([second_acme_entry(api_url)] if second_acme else [])
    networks = [entry for entry in networks if overrides.get(entry["key"], {}) is not None]
    for entry in networks:
        entry.update(overrides.get(entry["key"], {}))
        entry.update(timeout_s=5, max_retries=2, backoff_base_s=0.01)
    config = {
        "warehouse": warehouse or {"duckdb_path": "warehouse/trackly.duckdb"},
        "trackly": {"clicks": "logs/clicks/*.parquet", "messages": "logs/messages/*.parquet"},
        "fx_rates": "fx_rates.csv",
        "reporting_currency": "USD",
        "postback_base_url": "https://app.example.com",
        "networks": networks,
    }
    if partitions_start is not None:
        config["partitions_start"] = partitions_start
    path = root / "trackly.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def standard_world() -> SandboxWorld:
    """The world most tests run against, generated once; tests get copies (`world_copy`)."""
    return SandboxWorld.generate(seed=11, anchor=ANCHOR, history_days=20, conversions_per_network=800)


def world_copy(world: SandboxWorld) -> SandboxWorld:
    """A deep copy with a clock of its own at the world's time: a test moves it and fills its caches
    without reaching the original or another test's copy. (A clock holds a lock, which cannot be copied.)"""
    return copy.deepcopy(world, {id(world.clock): SandboxClock(world.clock.now())})


def write_world_files(world: SandboxWorld, root: Path) -> None:
    """The Trackly logs and the rates file trackly.yaml points at."""
    world.write_trackly_logs(root / "logs")
    world.write_fx_rates(root / "fx_rates.csv", "USD")


@pytest.fixture(scope="session")
def standard_files(standard_world, tmp_path_factory) -> Path:
    """The standard world's logs and rates, written once; `make_project` copies them."""
    folder = tmp_path_factory.mktemp("standard_files")
    write_world_files(standard_world, folder)
    return folder


def make_project(
    world: SandboxWorld,
    root: Path,
    monkeypatch,
    files: Path | None = None,
    partitions_start: str | None = PARTITIONS_START,
) -> tuple[SandboxServer, Project]:
    """A project in `root` over `world`; `files`: a folder to copy into `root` (the world's logs and
    rates, or more) instead of writing the logs and rates. Copies keep each file's mtime, which
    ops.loaded_files records. `partitions_start`: trackly.yaml's (None: the default, for a world
    before PARTITIONS_START)."""
    for name, token in world.token_env().items():
        monkeypatch.setenv(name, token)
    if files is None:
        write_world_files(world, root)
    else:
        shutil.copytree(files, root, dirs_exist_ok=True)
    server = SandboxServer(world, port=0)
    server.start()
    second_acme = any(account.key == "acme2" for account in world.accounts)  # configured when the world has it
    write_config(root, server.api_url, second_acme=second_acme, partitions_start=partitions_start)
    settings = load_config(root / "trackly.yaml")
    project = Project(
        world,
        server,
        root,
        settings,
        build_definitions(settings, clock=world.clock),
        dg.DagsterInstance.ephemeral(),
        second_acme,
    )
    return server, project


@pytest.fixture
def project(standard_world, standard_files, tmp_path, monkeypatch) -> Project:
    """A project over its own copy of the standard world (tests may move its clock)."""
    server, project = make_project(world_copy(standard_world), tmp_path, monkeypatch, standard_files)
    yield project
    server.stop()


@dataclass(frozen=True)
class SyncedFolder:
    """A project folder (trackly.yaml, logs, rates, warehouse) saved right after its opening syncs.
    Tests restore it at `root`, where it was synced: the warehouse records the log files' paths
    (ops.loaded_files, trackly.*.source_file), and under another root the next sync would load
    every log again as new files."""

    root: Path
    saved: Path
    clock: datetime  # the sandbox's time of the syncs
    config: str  # trackly.yaml, the sandbox's address aside


def config_text(project: Project) -> str:
    return (project.root / "trackly.yaml").read_text().replace(project.server.api_url, "<sandbox>")


class SyncedFolders:
    """The warehouses of a session, one per distinct opening (networks, days, offers, config
    overrides), each synced through Dagster the first time a test asks for it."""

    def __init__(self, world: SandboxWorld, files: Path, tmp_path_factory) -> None:
        self.world, self.files, self.tmp_path_factory = world, files, tmp_path_factory
        self.folders: dict[tuple, SyncedFolder] = {}

    def get(self, keys: tuple[str, ...], days: int, with_offers: bool, overrides: dict) -> SyncedFolder:
        opening = (keys, days, with_offers, repr(sorted(overrides.items())))
        if opening not in self.folders:
            self.folders[opening] = self.sync(keys, days, with_offers, overrides)
        return self.folders[opening]

    def sync(self, keys: tuple[str, ...], days: int, with_offers: bool, overrides: dict) -> SyncedFolder:
        base = self.tmp_path_factory.mktemp("synced")
        root = base / "project"
        root.mkdir()
        with pytest.MonkeyPatch.context() as monkeypatch:
            server, project = make_project(world_copy(self.world), root, monkeypatch, self.files)
            try:
                if overrides:
                    project.rebuild(**overrides)
                for key in keys:
                    assert project.sync(key, days=days, with_offers=with_offers).success, key
                clock, config = project.world.clock.now(), config_text(project)
            finally:
                server.stop()
        shutil.copytree(root, base / "saved")  # every connection closed: the runs are over
        return SyncedFolder(root, base / "saved", clock, config)


@pytest.fixture(scope="session")
def synced_folders(standard_world, standard_files, tmp_path_factory) -> SyncedFolders:
    return SyncedFolders(standard_world, standard_files, tmp_path_factory)


@pytest.fixture
def synced(synced_folders, standard_world, monkeypatch):
    """`synced(*keys, days=7, with_offers=True, **overrides)`: a project over a fresh copy of the
    standard world whose networks `keys` were synced (`Project.sync`), in that order, over the `days`
    before the sandbox's clock, after `project.rebuild(**overrides)`; each sync asserted successful.
    It stands for a test's opening syncs when nothing else came before them. The syncs ran
    once per session: each test gets a copy of the warehouse they left, a new sandbox server (no
    faults, nothing served yet) and a new Dagster instance (no record of those runs)."""
    servers = []

    def restore(*keys: str, days: int = 7, with_offers: bool = True, **overrides) -> Project:
        assert not servers, "one synced project per test: they share their folder"
        folder = synced_folders.get(keys, days, with_offers, overrides)
        if folder.root.exists():
            shutil.rmtree(folder.root)  # the previous test's copy
        server, project = make_project(world_copy(standard_world), folder.root, monkeypatch, folder.saved)
        servers.append(server)
        if overrides:
            project.rebuild(**overrides)
        # The copy is of a warehouse made under this test's conditions: same world, time and config.
        assert (project.world.clock.now(), config_text(project)) == (folder.clock, folder.config)
        return project

    yield restore
    for server in servers:
        server.stop()


@pytest.fixture
def synced_project(synced) -> Project:
    """A project whose three networks were synced over the standard 7 days (`synced`)."""
    return synced("acme", "bolt", "cobalt")


def table_checksums(project) -> dict[str, str]:
    """A content checksum of every warehouse table but the sync log (which records every attempt)."""
    import hashlib

    warehouse = project.settings.warehouse()
    if not warehouse.exists():
        return {}
    with warehouse.connect(read_only=True) as conn:
        tables = conn.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'warehouse' "
            "AND NOT (schema_name = 'ops' AND table_name = 'sync_log') ORDER BY ALL"
        ).fetchall()
        sums = {}
        for schema, table in tables:
            rows = conn.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL').fetchall()
            sums[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return sums


def pytest_configure(config) -> None:
    # `-m daemon` selects the tests that start a real dagster-daemon (a minute or two each).
    config.addinivalue_line("markers", "daemon: starts a real dagster-daemon (about two minutes)")
