"""Invalid trackly.yaml fails at load, naming the file, the network and the field."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trackly_pipeline.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
BASE = {
    "warehouse": {"duckdb_path": "data/trackly.duckdb"},
    "trackly": {"clicks": "logs/clicks/*.parquet", "messages": "logs/messages/*.parquet"},
    "reporting_currency": "USD",
    "postback_base_url": "https://app.example.com",
    "networks": [
        {"key": "acme", "network_id": "acmenet", "network_token_env": "TUNE_TEST_ACME",
         "base_url": "https://clicks.itstracking.com", "affiliate_id": "1001"},
        {"key": "bolt", "network_id": "boltmedia", "network_token_env": "TUNE_TEST_BOLT",
         "api_url": "http://127.0.0.1:8765/Apiv3/json", "base_url": "https://t.bolt.example", "affiliate_id": "2"},
    ],
}


@pytest.fixture(autouse=True)
def tokens(monkeypatch):
    monkeypatch.setenv("TUNE_TEST_ACME", "token-acme-123")
    monkeypatch.setenv("TUNE_TEST_BOLT", "token-bolt-456")


def write(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "trackly.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def with_network_field(field: str, value, index: int = 1) -> dict:
    config = copy.deepcopy(BASE)
    config["networks"][index][field] = value
    return config


def test_valid_config_loads_with_defaults(tmp_path):
    settings = load_config(write(tmp_path, BASE))
    acme = settings.network("acme")
    assert acme.api_url == "https://acmenet.api.hasoffers.com/Apiv3/json"
    assert acme.message_id_field == "aff_sub"
    assert acme.offer_sync.auto and acme.offer_sync.frequency == "hourly"
    assert settings.duckdb_path == tmp_path / "data" / "trackly.duckdb"
    assert "token-acme-123" not in repr(settings)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("message_id_field", "aff_sub9", "message_id_field: 'aff_sub9' is not one of"),
        ("key", "Bolt-Net", "key: 'Bolt-Net' may only hold"),
        ("global_url_params", {"mid": "{{messageID}}"}, "global_url_params.mid: unknown macro {{messageID}}"),
        ("network_token_env", "TUNE_NOT_SET_ANYWHERE", "environment variable TUNE_NOT_SET_ANYWHERE is not set"),
        ("base_url", "http://clicks.example.com", "base_url: 'http://clicks.example.com' must use https"),
        ("api_url", "http://10.0.0.5/Apiv3/json", "api_url: 'http://10.0.0.5/Apiv3/json' must use https"),
        ("timezone", "Mars/Olympus_Mons", "timezone: unknown time zone 'Mars/Olympus_Mons'"),
        ("offer_sync", {"auto": True, "frequency": "weekly"}, "offer_sync.frequency: 'weekly' is not one of"),
        ("affiliate_id", None, "affiliate_id: is required"),
        ("colour", "blue", "colour: unknown field"),
        ("wide_sweep_hour", 24, "wide_sweep_hour: must be an hour of the day"),
        ("offer_attribution_window_days", {12: 0}, "offer_attribution_window_days.12: must be a positive integer"),
    ],
)
def test_invalid_network_field_is_named(tmp_path, field, value, expected):
    path = write(tmp_path, with_network_field(field, value))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert str(path) in message
    assert "networks[1]" in message
    assert expected in message


def test_duplicate_keys_are_refused(tmp_path):
    config = with_network_field("key", "acme")
    with pytest.raises(ConfigError, match="network 'acme': key: duplicate network key 'acme'"):
        load_config(write(tmp_path, config))


def test_loopback_http_is_allowed(tmp_path):
    for host in ("localhost", "127.0.0.1", "[::1]"):
        config = with_network_field("api_url", f"http://{host}:9/Apiv3/json")
        assert load_config(write(tmp_path, config)).network("bolt").api_url.startswith("http://")


def test_dagster_load_fails_with_the_field_named(tmp_path):
    """What `dagster dev` shows: the code location fails to load, with the config error."""
    path = write(tmp_path, with_network_field("message_id_field", "aff_sub7"))
    result = subprocess.run(
        [sys.executable, "-c", "import trackly_pipeline.defs.definitions"],
        cwd=tmp_path, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "TRACKLY_CONFIG": str(path), "TUNE_TEST_ACME": "a", "TUNE_TEST_BOLT": "b"},
    )
    assert result.returncode != 0
    assert f"{path}: networks[1] (bolt): message_id_field: 'aff_sub7' is not one of" in result.stderr
