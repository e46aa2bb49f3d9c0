"""The README's first command (in a folder of its own, leaving the user's files alone), and the
project files Dagster reads (workspace.yaml, dagster.yaml)."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from trackly_pipeline.cli import main as trackly_main
from trackly_pipeline.demo import MARKER, DemoFolderError, claim_demo_folder

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


USER_CONFIG = {
    # A user's real setup: logs in several places (the clicks' grandparent folder is the project
    # itself), a warehouse outside data/, real TUNE networks whose tokens are in the environment.
    "warehouse": {"duckdb_path": "warehouse/trackly.duckdb"},
    "trackly": {"clicks": "logs/clicks_*.parquet", "messages": "exports/trackly/messages/*.csv"},
    "fx_rates": "rates/fx.csv",
    "postback_base_url": "https://app.example.com",
    "networks": [
        {
            "key": "acme",
            "network_id": "acmenet",
            "network_token_env": "TUNE_ACME_TOKEN",
            "base_url": "https://clicks.itstracking.com",
            "affiliate_id": "1001",
        },
        {
            "key": "bolt",
            "network_id": "boltmedia",
            "network_token_env": "TUNE_BOLT_TOKEN",
            "base_url": "https://track.boltmedia.example",
            "affiliate_id": "2002",
            "message_id_field": "aff_sub3",
        },
    ],
}


def write_user_project(project: Path) -> dict:
    """A user's project folder with real files in it; the environment a user runs `trackly demo` in."""
    project.mkdir()
    (project / "trackly.yaml").write_text(yaml.safe_dump(USER_CONFIG))
    for folder in (
        "logs",
        "exports/trackly/messages",
        "rates",
        "warehouse/trackly_analytics.parts/2026-11",
        "data/trackly/clicks",
        ".git/refs/heads",
        ".dagster_home",
        "notes",
    ):
        (project / folder).mkdir(parents=True)
    with duckdb.connect(str(project / "warehouse" / "trackly.duckdb")) as conn:
        conn.execute("CREATE SCHEMA tune")
        conn.execute(
            "CREATE TABLE tune.conversion_changes AS SELECT 'acme' AS network, 42 AS conversion_id, "
            "'approved' AS change, TIMESTAMP '2026-11-02 10:00' AS changed_at"
        )
        conn.execute(
            f"COPY (SELECT 'c1' AS click_id, 'm1' AS message_id) TO '{project / 'logs' / 'clicks_2026-11.parquet'}'"
        )
        conn.execute(f"COPY (SELECT 'c2' AS click_id) TO '{project / 'data' / 'trackly' / 'clicks' / 'old.parquet'}'")
        conn.execute(
            f"COPY tune.conversion_changes TO "
            f"'{project / 'warehouse' / 'trackly_analytics.parts' / '2026-11' / 'conversion_changes.parquet'}'"
        )
    with duckdb.connect(str(project / "warehouse" / "trackly_analytics.duckdb")) as conn:
        conn.execute("CREATE TABLE copy_of_changes AS SELECT 1 AS one")
    (project / "exports" / "trackly" / "messages" / "2026-11.csv").write_text("message_id,creative_id\nm1,cr1\n")
    (project / "rates" / "fx.csv").write_text("date,currency,rate\n2026-11-01,EUR,1.08\n")
    (project / "data" / "warehouse.duckdb").write_bytes(b"an older warehouse")
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / ".git" / "refs" / "heads" / "main").write_text("0123456789abcdef0123456789abcdef01234567\n")
    (project / ".dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (project / "notes" / "todo.md").write_text("ask acme about payouts\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNE_")}
    return {
        **env,
        "TRACKLY_CONFIG": str(project / "trackly.yaml"),
        "DAGSTER_HOME": str(project / ".dagster_home"),
        "TUNE_ACME_TOKEN": "the-users-real-acme-token",
        "TUNE_BOLT_TOKEN": "the-users-real-bolt-token",
    }


def snapshot(root: Path, *, leave_out: str) -> dict[str, str]:
    """Every path under `root` but `leave_out`: a file's sha256, a folder's "dir", a link's target."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if name == leave_out or name.startswith(leave_out + "/"):
            continue
        if path.is_symlink():
            found[name] = "link " + os.readlink(path)
        elif path.is_dir():
            found[name] = "dir"
        else:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def user_demo(tmp_path_factory) -> tuple[Path, dict, dict, subprocess.CompletedProcess]:
    """`trackly demo` run the way a user runs it: in their project, with their TRACKLY_CONFIG,
    DAGSTER_HOME and token variables set. One run, for the tests below."""
    project = tmp_path_factory.mktemp("user") / "project"
    env = write_user_project(project)
    before = snapshot(project, leave_out="demo")
    result = run_demo(project, env, "--conversions", "800")
    return project, env, before, result


@pytest.mark.slow  # a subprocess that loads Dagster
def test_demo_leaves_every_file_of_the_users_project_as_it_was(user_demo):
    """Issue 15.1: the demo deleted the clicks glob's grandparent folder (here the whole project,
    .git included), the configured warehouse and its analysts' copy. It writes only in demo/ now."""
    project, _, before, result = user_demo
    assert snapshot(project, leave_out="demo") == before
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (project / "demo" / ".trackly-demo").is_file()


@pytest.mark.slow  # a subprocess that loads Dagster
def test_demo_runs_every_network_and_matches_ground_truth(user_demo):
    project, _env, _, result = user_demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for key in ("acme", "bolt", "cobalt", "acme2"):  # acme2: a second account on acme's network id
        assert f"tune_{key}_sync" in out and "FAILED" not in out
    for grain in ("network", "message", "creative", "offer"):  # "per network": clicks, each counted once
        line = next(line for line in out.splitlines() if line.strip().startswith(f"per {grain}"))
        assert line.rstrip().endswith(" 0 differ"), line
    assert (project / "demo" / "data" / "warehouse_analytics.duckdb").exists()
    # its config is its own: the sandbox on loopback, its own token variables (never a user's)
    config = yaml.safe_load((project / "demo" / "trackly.yaml").read_text())
    assert {n["network_token_env"] for n in config["networks"]} == {
        "TRACKLY_DEMO_ACME_TOKEN",
        "TRACKLY_DEMO_BOLT_TOKEN",
        "TRACKLY_DEMO_COBALT_TOKEN",
        "TRACKLY_DEMO_ACME2_TOKEN",
    }
    assert all(n["api_url"].startswith("http://127.0.0.1:") for n in config["networks"])
    # the runs are on the demo's own instance, none on the user's
    with dg.DagsterInstance.from_config(str(project / "demo" / "dagster_home")) as instance:
        assert len(instance.get_runs()) == 4


def run_demo(cwd: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trackly_pipeline.cli", "demo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow  # a subprocess that loads Dagster
def test_demo_starts_at_partitions_start_inside_its_window(tmp_path):
    """With `partitions_start` two days ago the demo syncs from there (as the schedules do), not
    from seven days ago, which Dagster refuses as before the first partition."""
    env = project_copy(tmp_path)
    start = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d-%H:00")
    result = run_demo(tmp_path, env, "--conversions", "300", "--partitions-start", start)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for key in ("acme", "bolt", "cobalt"):
        line = next(line for line in result.stdout.splitlines() if f"tune_{key}_sync" in line)
        assert f" {start} .. " in line and line.split()[4] == "ok", line
    for grain in ("message", "creative", "offer"):  # the ground truth over the same hours
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(f"per {grain}"))
        assert line.rstrip().endswith(" 0 differ"), line
    with dg.DagsterInstance.from_config(str(tmp_path / "demo" / "dagster_home")) as instance:
        assert {run.tags["dagster/asset_partition_range_start"] for run in instance.get_runs()} == {start}


@pytest.mark.slow  # a subprocess that loads Dagster
def test_demo_with_partitions_start_in_the_future_says_there_is_nothing_to_sync(tmp_path):
    env = project_copy(tmp_path)
    start = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d-%H:00")
    result = run_demo(tmp_path, env, "--partitions-start", start)
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"Nothing to sync: partitions_start {start}" in result.stdout
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "demo").exists()  # nothing written


def test_demo_refuses_a_folder_it_did_not_make(tmp_path, capsys):
    """A `demo/` (or --dir) of the user's, or a file there, is left alone: exit 2, before any work."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "trackly.yaml").write_text("the user's own\n")
    (tmp_path / "mine" / "data").mkdir()
    (tmp_path / "a-file").write_text("not a folder\n")
    before = snapshot(tmp_path, leave_out="-")
    for folder in ("mine", "a-file"):
        assert trackly_main(["demo", "--dir", str(tmp_path / folder)]) == 2
        out = capsys.readouterr().out
        assert f"trackly demo: {tmp_path / folder}" in out and "Traceback" not in out
    assert snapshot(tmp_path, leave_out="-") == before


def test_a_rerun_clears_only_what_the_demo_wrote_in_its_own_folder(tmp_path):
    # a new folder (parents too) and an empty one become the demo's
    claim_demo_folder(tmp_path / "new" / "demo")
    (tmp_path / "empty").mkdir()
    claim_demo_folder(tmp_path / "empty")
    assert (tmp_path / "new" / "demo" / MARKER).is_file() and (tmp_path / "empty" / MARKER).is_file()
    # an earlier run's files go; a file the user put there stays; a link is removed, never followed
    folder = tmp_path / "new" / "demo"
    (folder / "trackly.yaml").write_text("old run\n")
    (folder / "dagster_home").mkdir()
    (folder / "dagster_home" / "runs.db").write_bytes(b"old runs")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep.parquet").write_bytes(b"someone's data")
    (folder / "data").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (folder / "my-notes.txt").write_text("mine\n")
    claim_demo_folder(folder)
    assert sorted(p.name for p in folder.iterdir()) == [MARKER, "my-notes.txt"]
    assert (tmp_path / "elsewhere" / "keep.parquet").read_bytes() == b"someone's data"
    # once its marker is gone the folder is no longer the demo's
    (folder / MARKER).unlink()
    with pytest.raises(DemoFolderError):
        claim_demo_folder(folder)
    assert (folder / "my-notes.txt").exists()


def test_shipped_instance_limits_the_duckdb_pool_to_one(tmp_path):
    env = project_copy(tmp_path)
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


@pytest.mark.slow  # a subprocess that loads Dagster
def test_workspace_loads_with_dagster_cli(tmp_path):
    env = project_copy(tmp_path)
    env.update(
        TUNE_ACME_TOKEN="a-token-0123456789",
        TUNE_BOLT_TOKEN="b-token-0123456789",
        TUNE_COBALT_TOKEN="c-token-0123456789",
        TUNE_ACME2_TOKEN="a-token-0123456789",
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
