"""The `trackly` command: a command about one network needs only that network's token, a config
mistake is one line and a non-zero exit (no traceback), and `trackly offers` does not wait on a
writer's DuckDB lock when the analysts' copy can answer."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from trackly_pipeline.cli import main as trackly_main
from trackly_pipeline.config import load_config
from trackly_pipeline.offer_listing import imported_offer_ids
from trackly_pipeline.sandbox import SandboxServer, SandboxWorld
from trackly_pipeline.warehouse.database import Warehouse

# Holds the warehouse's write connection (and so its lock) until killed: a sync in progress.
HOLD_WRITE_LOCK = """
import sys, time
from trackly_pipeline.warehouse.database import Warehouse
with Warehouse(sys.argv[1]).connect():
    print("holding", flush=True)
    time.sleep(300)
"""


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    return SandboxWorld.generate(seed=5, history_days=2, conversions_per_network=20)


@pytest.fixture(scope="module")
def server(world):
    with SandboxServer(world, port=0) as server:
        yield server


@pytest.fixture
def config(tmp_path, world, server, monkeypatch) -> Path:
    """Every sandbox network in trackly.yaml; only acme's token in the environment."""
    for name in [*os.environ]:
        if name.startswith("TUNE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TUNE_ACME_TOKEN", world.token_env("acmenet")["TUNE_ACME_TOKEN"])
    path = tmp_path / "trackly.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "warehouse": {"duckdb_path": "data/warehouse.duckdb"},
                "trackly": {"clicks": "logs/clicks/*.parquet", "messages": "logs/messages/*.parquet"},
                "postback_base_url": "https://app.example.com",
                "networks": [
                    {
                        "key": n.key,
                        "network_id": n.network_id,
                        "network_token_env": n.token_env_var,
                        "api_url": server.api_url,
                        "base_url": "https://t.example.com",
                        "affiliate_id": n.affiliate_id,
                        "max_retries": 1,
                        "backoff_base_s": 0.01,
                    }
                    for n in world.networks
                ],
            }
        )
    )
    monkeypatch.setenv("TRACKLY_CONFIG", str(path))
    return path


def test_test_connection_needs_only_the_chosen_networks_token(config, capsys):
    assert trackly_main(["test-connection", "--network", "acme"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("acme") and " OK " in lines[0]


def test_test_connection_warns_of_an_affiliate_id_the_network_has_no_conversions_for(config, capsys):
    config.write_text(config.read_text().replace("affiliate_id: '1001'", "affiliate_id: '1002'"))
    assert trackly_main(["test-connection", "--network", "acme"]) == 0  # a new partnership has none either
    (line,) = capsys.readouterr().out.splitlines()
    assert line.split()[:3] == ["acme", "OK", "affiliate_unseen"]
    assert "none for affiliate 1002: check affiliate_id" in line and "time zone America/New_York" in line


def test_offers_needs_only_the_chosen_networks_token(config, world, capsys):
    assert trackly_main(["offers", "acme"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == len(world.ground_truth_offers("acmenet"))


def test_offers_rejected_by_tune_are_one_line_without_the_token(config, world, capsys, monkeypatch):
    monkeypatch.setenv("TUNE_ACME_TOKEN", "sbx-wrong-token-0000000000000000")
    assert trackly_main(["offers", "acme"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("trackly offers: acme: ") and err.count("\n") == 1
    assert "Traceback" not in err and "sbx-wrong-token" not in err and world.token_for("acmenet") not in err


@pytest.mark.parametrize("command", [["test-connection", "--network", "bolt"], ["test-connection"], ["offers", "bolt"]])
def test_a_missing_token_is_one_line_naming_file_network_and_field(config, capsys, command):
    assert trackly_main(command) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"trackly: {config}: network 'bolt': network_token_env: environment variable TUNE_BOLT_TOKEN "
        "is not set (the token lives only there)\n"
    )


@pytest.mark.parametrize("command", [["test-connection", "--network", "acme"], ["offers", "acme"]])
def test_a_token_too_short_to_redact_is_one_line_naming_the_variable(config, capsys, monkeypatch, command):
    monkeypatch.setenv("TUNE_ACME_TOKEN", "tiny-token")
    assert trackly_main(command) == 2
    out, err = capsys.readouterr()
    assert out == "" and "tiny-token" not in err
    assert err == (
        f"trackly: {config}: network 'acme': network_token_env: environment variable TUNE_ACME_TOKEN "
        "holds a token shorter than 16 characters, too short to keep out of logs and errors "
        "(TUNE's are 32 or more)\n"
    )


@pytest.mark.parametrize("command", [["test-connection", "--network", "nosuch"], ["offers", "nosuch"]])
def test_an_unknown_network_is_named(config, capsys, command):
    assert trackly_main(command) == 2
    expected = f"trackly: {config}: networks: no network 'nosuch' (configured: acme, bolt, cobalt)\n"
    assert capsys.readouterr().err == expected


def test_an_invalid_config_stops_the_command_without_a_traceback(config):
    config.write_text(config.read_text() + "partitions_start: yesterday\n")
    result = subprocess.run(
        [sys.executable, "-m", "trackly_pipeline.cli", "offers", "acme"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"trackly: {config}: partitions_start: 'yesterday' is not a start hour")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_the_command_runs_with_one_token_in_a_fresh_process(config):
    result = subprocess.run(
        [sys.executable, "-m", "trackly_pipeline.cli", "test-connection", "--network", "acme"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("acme") and "Traceback" not in result.stderr


def test_offers_do_not_wait_on_a_writers_lock(config, world, capsys):
    """A sync holds the write connection in another process: the listing reads the analysts' copy
    at once instead of waiting (up to 300 s) for the lock."""
    warehouse = Warehouse(load_config(config, require_tokens=False).duckdb_path)
    published, newer = sorted(world.ground_truth_offers("acmenet").offer_id)[:2]
    add = "INSERT INTO tune.offers (network, offer_id, imported, synced_at) VALUES ('acme', ?, true, now())"
    with warehouse.connect() as conn:
        conn.execute(add, [published])
        warehouse.publish(conn)
        conn.execute(add, [newer])  # only in the writer's file
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(warehouse.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        done: dict = {}

        def run(name, call):
            started = time.monotonic()
            done[name] = call()
            done[f"{name}_s"] = time.monotonic() - started

        for name, call in [
            ("ids", lambda: imported_offer_ids(warehouse, "acme")),
            ("command", lambda: trackly_main(["offers", "acme"])),
        ]:
            thread = threading.Thread(target=run, args=(name, call), daemon=True)
            thread.start()
            thread.join(timeout=20)
            assert name in done, f"{name} waited on the writer's lock"
            assert done[f"{name}_s"] < 5
        assert done["ids"] == {published}
        assert done["command"] == 0
        imported = {
            int(line.split()[0])
            for line in capsys.readouterr().out.splitlines()
            if line.strip()[:1].isdigit() and line.split()[1] == "yes"
        }
        assert imported == {published}
    finally:
        holder.kill()
        holder.wait()
    # with no writer, the writer's own (fresher) file is read
    assert imported_offer_ids(warehouse, "acme") == {published, newer}


def test_network_forget_and_rename_say_what_they_did_or_refuse_in_one_line(config, capsys):
    warehouse = Warehouse(load_config(config, require_tokens=False).duckdb_path)
    with warehouse.connect() as conn:  # 'gone': a network removed from trackly.yaml, its rows still stored
        conn.execute("INSERT INTO ops.network_affiliates VALUES ('gone', 5005, now()), ('acme', 1001, now())")

    assert trackly_main(["network", "forget", "acme"]) == 1
    assert trackly_main(["network", "rename", "gone", "bolt"]) == 1  # gone's network unknown: no check possible
    refusals = capsys.readouterr().err.splitlines()
    assert refusals == [
        "trackly network forget: 'acme' is in trackly.yaml: remove it there first, then run this again",
        "trackly network rename: the TUNE network 'gone' stored its rows from is unknown (they were stored before "
        "the warehouse recorded accounts), so moving them to 'bolt' cannot be checked to be a rename: in "
        "trackly.yaml put 'gone' back in place of 'bolt' and sync it once (that records its account), then rename "
        "it there and run this again; or, to drop its rows, `trackly network forget gone`",
    ]

    assert trackly_main(["network", "forget", "gone"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "forgot 'gone': deleted 2 rows"
    assert sorted(line.split() for line in out[1:3]) == [["ops.network_affiliates", "1"], ["ops.stored_networks", "1"]]
    with warehouse.connect(read_only=True) as conn:
        assert conn.execute("SELECT network, kind, rows, status FROM ops.sync_log").fetchall() == [
            ("gone", "network forget", 2, "success")
        ]
        assert conn.execute("SELECT count(*) FROM ops.network_affiliates WHERE network = 'gone'").fetchone()[0] == 0


def test_network_commands_fail_cleanly_while_a_run_holds_the_warehouse(config, capsys, monkeypatch):
    from trackly_pipeline import network_commands

    monkeypatch.setattr(network_commands, "LOCK_TIMEOUT_S", 0.5)
    warehouse = Warehouse(load_config(config, require_tokens=False).duckdb_path)
    with warehouse.connect() as conn:
        conn.execute("INSERT INTO ops.network_affiliates VALUES ('gone', 5005, now())")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(warehouse.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert trackly_main(["network", "forget", "gone"]) == 1
    finally:
        holder.kill()
        holder.wait()
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"trackly network forget: nothing was changed: warehouse locked by another process: "
        f"{warehouse.path} was held by process {holder.pid} "
    )
    with warehouse.connect(read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM ops.network_affiliates WHERE network = 'gone'").fetchone()[0] == 1
