"""The README's first command, and the project files Dagster reads (workspace.yaml, dagster.yaml)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def project_copy(tmp_path: Path) -> dict:
    """The shipped trackly.yaml, pointed at a free port and at tmp_path; the shipped DAGSTER_HOME."""
    config = yaml.safe_load((ROOT / "trackly.yaml").read_text())
    port = free_port()
    for network in config["networks"]:
        network["api_url"] = f"http://127.0.0.1:{port}/Apiv3/json"
    (tmp_path / "trackly.yaml").write_text(yaml.safe_dump(config))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / ".dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNE_")}
    return {**env, "TRACKLY_CONFIG": str(tmp_path / "trackly.yaml"), "DAGSTER_HOME": str(home)}


def test_demo_runs_every_network_and_matches_ground_truth(tmp_path):
    env = project_copy(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "trackly_pipeline.cli", "demo", "--conversions", "800"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for key in ("acme", "bolt", "cobalt"):
        assert f"tune_{key}_sync" in out and "FAILED" not in out
    for grain in ("message", "creative", "offer"):
        line = next(line for line in out.splitlines() if line.strip().startswith(f"per {grain}"))
        assert line.rstrip().endswith(" 0 differ"), line
    assert (tmp_path / "data" / "warehouse_analytics.duckdb").exists()
    # the runs are on the instance, for the UI to show
    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    assert len(instance.get_runs()) == 3


def test_shipped_instance_limits_the_duckdb_pool_to_one(tmp_path):
    env = project_copy(tmp_path)
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_workspace_loads_with_dagster_cli(tmp_path):
    env = project_copy(tmp_path)
    env.update(TUNE_ACME_TOKEN="a-token", TUNE_BOLT_TOKEN="b-token", TUNE_COBALT_TOKEN="c-token")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
