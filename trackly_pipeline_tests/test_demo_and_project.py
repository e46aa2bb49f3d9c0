"""The README's first command, and the project files Dagster reads (workspace.yaml, dagster.yaml)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
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
    for key in ("acme", "bolt", "cobalt", "acme2"):  # acme2: a second account on acme's network id
        assert f"tune_{key}_sync" in out and "FAILED" not in out
    for grain in ("network", "message", "creative", "offer"):  # "per network": clicks, each counted once
        line = next(line for line in out.splitlines() if line.strip().startswith(f"per {grain}"))
        assert line.rstrip().endswith(" 0 differ"), line
    assert (tmp_path / "data" / "warehouse_analytics.duckdb").exists()
    # the runs are on the instance, for the UI to show
    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    assert len(instance.get_runs()) == 4


def set_partitions_start(tmp_path: Path, start: str) -> None:
    config = yaml.safe_load((tmp_path / "trackly.yaml").read_text())
    config["partitions_start"] = start
    (tmp_path / "trackly.yaml").write_text(yaml.safe_dump(config))


def run_demo(tmp_path: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trackly_pipeline.cli", "demo", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def test_demo_starts_at_partitions_start_inside_its_window(tmp_path):
    """With `partitions_start` two days ago the demo syncs from there (as the schedules do), not
    from seven days ago, which Dagster refuses as before the first partition."""
    env = project_copy(tmp_path)
    start = (datetime.now(timezone.utc) - timedelta(days=2)).strftime("%Y-%m-%d-%H:00")
    set_partitions_start(tmp_path, start)
    result = run_demo(tmp_path, env, "--conversions", "300")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for key in ("acme", "bolt", "cobalt"):
        line = next(line for line in result.stdout.splitlines() if f"tune_{key}_sync" in line)
        assert f" {start} .. " in line and line.split()[4] == "ok", line
    for grain in ("message", "creative", "offer"):  # the ground truth over the same hours
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(f"per {grain}"))
        assert line.rstrip().endswith(" 0 differ"), line
    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    assert {run.tags["dagster/asset_partition_range_start"] for run in instance.get_runs()} == {start}


def test_demo_with_partitions_start_in_the_future_says_there_is_nothing_to_sync(tmp_path):
    env = project_copy(tmp_path)
    start = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%d-%H:00")
    set_partitions_start(tmp_path, start)
    result = run_demo(tmp_path, env)
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"Nothing to sync: partitions_start {start}" in result.stdout
    assert "Traceback" not in result.stderr


def test_shipped_instance_limits_the_duckdb_pool_to_one(tmp_path):
    env = project_copy(tmp_path)
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_workspace_loads_with_dagster_cli(tmp_path):
    env = project_copy(tmp_path)
    env.update(TUNE_ACME_TOKEN="a-token", TUNE_BOLT_TOKEN="b-token", TUNE_COBALT_TOKEN="c-token",
               TUNE_ACME2_TOKEN="a-token")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
