"""The pipeline on the DuckLake backend (warehouse.backend: ducklake): a catalog database of its own
on the test PostgreSQL server, data files in the test's folder. Same SQL, same ground truth as the
DuckDB file, and networks' runs writing at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import dagster as dg
import pytest

from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.sandbox.expected_outputs import expected_revenue
from trackly_pipeline.warehouse.schema import declared_columns

from .conftest import make_project, world_copy, write_config
from .test_pipeline_ground_truth import NETWORKS, window_truth

pytestmark = pytest.mark.postgres


def lake_section(postgres_database, root) -> dict:
    return {"backend": "ducklake", "catalog": postgres_database.dsn, "data_path": str(root / "lake")}


@pytest.fixture
def lake_project(standard_world, standard_files, tmp_path, monkeypatch, postgres_database):
    server, project = make_project(world_copy(standard_world), tmp_path, monkeypatch, standard_files)
    write_config(tmp_path, server.api_url, warehouse=lake_section(postgres_database, tmp_path))
    project.settings = load_config(tmp_path / "trackly.yaml")
    project.defs = build_definitions(project.settings, clock=project.world.clock)
    yield project
    server.stop()


def stored_revenue(project) -> dict:
    rows = project.query("SELECT network, offer_id, sum(revenue) FROM analytics.revenue_by_offer GROUP BY ALL")
    return {(network, offer): Decimal(total).quantize(Decimal("0.01")) for network, offer, total in rows if total}


def truth_revenue(project) -> dict:
    truth = expected_revenue(window_truth(project), ["network_key", "offer_id"])
    return {key: value for key, value in truth.items() if value}


@pytest.mark.slow  # three 7-day syncs into a lake: a minute or more
def test_every_network_syncs_into_the_lake_and_matches_ground_truth(lake_project):
    project = lake_project
    assert project.settings.lake is not None
    for key in NETWORKS:
        result = project.sync(key)
        assert result.success, key
    truth = window_truth(project)
    stored = project.query(
        "SELECT network, conversion_id, status, payout_reporting, attribution_method FROM analytics.attributed_conversions"
    )
    assert len(stored) == len(truth) > 0
    got = {(r[0], r[1]): r[2:] for r in stored}
    for row in truth.itertuples():
        assert got[(row.network_key, row.conversion_id)] == (row.status, row.payout_reporting, row.attribution_method)
    assert stored_revenue(project) == truth_revenue(project)
    # The lake is the analysts' table: no copy of it is published.
    assert not list(project.root.glob("warehouse/*analytics*"))


@pytest.mark.slow  # three 7-day syncs at once into a lake
def test_three_networks_running_at_once_all_succeed_and_nothing_is_lost_or_doubled(lake_project):
    project = lake_project
    with ThreadPoolExecutor(len(NETWORKS)) as pool:
        results = list(pool.map(lambda key: project.sync(key, instance=dg.DagsterInstance.ephemeral()), NETWORKS))
    assert all(result.success for result in results)
    ((rows, distinct),) = project.query(
        "SELECT count(*), count(DISTINCT (network, conversion_id)) FROM analytics.attributed_conversions"
    )
    assert rows == distinct == len(window_truth(project))
    assert stored_revenue(project) == truth_revenue(project)


def snapshots(project) -> int:
    return project.query("SELECT count(*) FROM ducklake_snapshots('warehouse')")[0][0]


def test_a_new_lake_gets_its_whole_schema_in_one_commit(lake_project):
    """Created in one transaction: a creation cut half-way leaves no half-made schema, and the lake
    starts with one snapshot for it instead of one per statement (each a commit to the catalog)."""
    project = lake_project
    with project.settings.warehouse().connect():
        pass
    created = [
        changes.get("tables_created", [])
        for (changes,) in project.query("SELECT changes FROM ducklake_snapshots('warehouse')")
        if changes.get("tables_created")
    ]
    assert len(created) == 1
    assert sorted(created[0]) == sorted(declared_columns())


@pytest.mark.slow  # 2.3 s alone: four writing connections to a lake
def test_a_writer_on_an_up_to_date_lake_commits_nothing_and_takes_no_lock(lake_project, monkeypatch):
    """Every step opens a writing connection: were the schema applied again each time, each would
    commit a snapshot (conflicting with other networks' writers) under the schema lock."""
    project = lake_project
    with project.settings.warehouse().connect():  # creates the lake and its schema
        pass
    before = snapshots(project)
    assert before > 0

    from trackly_pipeline.warehouse import lake

    def no_lock(_):
        raise AssertionError("the schema lock was taken on an up-to-date lake")

    monkeypatch.setattr(lake, "schema_lock", no_lock)
    for _ in range(3):
        with project.settings.warehouse().connect():
            pass
    assert snapshots(project) == before
