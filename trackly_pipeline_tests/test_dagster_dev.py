"""`dagster dev -w workspace.yaml` serves the definitions: the UI's GraphQL lists every network's
assets, jobs and schedules (the webserver and daemon started for real, then stopped)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from .test_demo_and_project import free_port, project_copy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  name jobs { name } schedules { name } assetNodes { assetKey { path } } } } } }"""


def test_dagster_dev_shows_every_network(tmp_path):
    env = project_copy(tmp_path)
    env.update(
        TUNE_ACME_TOKEN="a-token-0123456789",
        TUNE_BOLT_TOKEN="b-token-0123456789",
        TUNE_COBALT_TOKEN="c-token-0123456789",
        TUNE_ACME2_TOKEN="a-token-0123456789",
    )
    port = free_port()
    dagster = str(Path(sys.executable).parent / "dagster")
    process = subprocess.Popen(
        [dagster, "dev", "-w", str(ROOT / "workspace.yaml"), "-p", str(port), "-h", "127.0.0.1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline, nodes = time.monotonic() + 180, None
        while time.monotonic() < deadline and nodes is None:
            time.sleep(0.2)  # between polls: the webserver answers once it has loaded the code location
            try:
                reply = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=10).json()
                nodes = reply["data"]["repositoriesOrError"]["nodes"] or None
            except (requests.RequestException, KeyError, TypeError, ValueError):
                continue
        assert nodes, "dagster dev never served the code location"
        repository = nodes[0]
        schedules = sorted(s["name"] for s in repository["schedules"])
        assert schedules == [
            "sync_freshness_hourly",
            "tune_acme2_hourly",
            "tune_acme_hourly",
            "tune_bolt_hourly",
            "tune_cobalt_hourly",
        ]
        jobs = {j["name"] for j in repository["jobs"]}
        assert {"tune_acme_sync", "tune_bolt_test_connection", "tune_cobalt_reconcile"} <= jobs
        assets = {"/".join(a["assetKey"]["path"]) for a in repository["assetNodes"]}
        assert {
            "tune/acme/conversions",
            "analytics/bolt/attributed_conversions",
            "analytics/revenue_by_offer",
        } <= assets
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
