"""Invalid trackly.yaml fails at load, naming the file, the network and the field."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trackly_pipeline.config import MIN_TOKEN_LENGTH, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
BASE = {
    "warehouse": {"duckdb_path": "data/trackly.duckdb"},
    "trackly": {"clicks": "logs/clicks/*.parquet", "messages": "logs/messages/*.parquet"},
    "reporting_currency": "USD",
    "postback_base_url": "https://app.example.com",
    "networks": [
        {
            "key": "acme",
            "network_id": "acmenet",
            "network_token_env": "TUNE_TEST_ACME",
            "base_url": "https://clicks.itstracking.com",
            "affiliate_id": "1001",
        },
        {
            "key": "bolt",
            "network_id": "boltmedia",
            "network_token_env": "TUNE_TEST_BOLT",
            "api_url": "http://127.0.0.1:8765/Apiv3/json",
            "base_url": "https://t.bolt.example",
            "affiliate_id": "2",
        },
    ],
}


@pytest.fixture(autouse=True)
def tokens(monkeypatch):
    monkeypatch.setenv("TUNE_TEST_ACME", "token-acme-1234567890")
    monkeypatch.setenv("TUNE_TEST_BOLT", "token-bolt-4567890123")


def write(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "trackly.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def with_network_field(field: str, value, index: int = 1) -> dict:
    config = copy.deepcopy(BASE)
    config["networks"][index][field] = value
    return config


def without(config: dict, section: str) -> dict:
    config = copy.deepcopy(config)
    del config[section]
    return config


def test_valid_config_loads_with_defaults(tmp_path):
    settings = load_config(write(tmp_path, BASE))
    acme = settings.network("acme")
    assert acme.api_url == "https://acmenet.api.hasoffers.com/Apiv3/json"
    assert acme.message_id_field == "aff_sub"
    assert acme.offer_sync.auto and acme.offer_sync.frequency == "hourly"
    assert acme.attribution_clock_skew_s == 300
    assert settings.duckdb_path == tmp_path / "data" / "trackly.duckdb"
    assert "token-acme-1234567890" not in repr(settings)


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
        (
            "base_url",
            "https://clicks.example.com/?src=sms",
            "base_url: 'https://clicks.example.com/?src=sms' must not have a query",
        ),
        ("base_url", "https://clicks.example.com/#", "base_url: 'https://clicks.example.com/#' must not have a query"),
        ("global_url_params", {"tracking": True}, "global_url_params.tracking: must be a string (quote it)"),
        ("affiliate_id", "aff-1001", "affiliate_id: must be the network's numeric affiliate id, got 'aff-1001'"),
        ("affiliate_id", "0", "affiliate_id: must be the network's numeric affiliate id, got '0'"),
        ("colour", "blue", "colour: unknown field"),
        ("wide_sweep_hour", 24, "wide_sweep_hour: must be an hour of the day"),
        ("offer_attribution_window_days", {12: 0}, "offer_attribution_window_days.12: must be a positive integer"),
        ("attribution_clock_skew_s", -1, "attribution_clock_skew_s: must be a whole number, 0 or more"),
        ("attribution_clock_skew_s", "5m", "attribution_clock_skew_s: must be a whole number, 0 or more"),
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


def test_a_token_too_short_to_redact_is_refused_naming_the_variable_not_the_token(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNE_TEST_BOLT", "short-token-15c")  # one below the minimum
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, BASE))
    message = str(error.value)
    assert (
        f"network_token_env: environment variable TUNE_TEST_BOLT holds a token shorter than {MIN_TOKEN_LENGTH}"
        in message
    )
    assert "short-token" not in message
    monkeypatch.setenv("TUNE_TEST_BOLT", "x" * MIN_TOKEN_LENGTH)
    assert load_config(write(tmp_path, BASE)).network("bolt")


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
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "TRACKLY_CONFIG": str(path),
            "TUNE_TEST_ACME": "a" * 32,
            "TUNE_TEST_BOLT": "b" * 32,
        },
    )
    assert result.returncode != 0
    assert f"{path}: networks[1] (bolt): message_id_field: 'aff_sub7' is not one of" in result.stderr


@pytest.mark.parametrize(
    ("message_id_field", "params", "expected"),
    [
        # what the link builder sets itself (tune/links.py): a global param comes after it and PHP
        # keeps the last value, so the click id would never reach TUNE
        ("aff_sub", {"aff_sub": "promo"}, "global_url_params.aff_sub: the tracking link sets this parameter itself"),
        ("aff_sub", {"offer_id": "7"}, "global_url_params.offer_id: the tracking link sets"),
        ("aff_sub", {"aff_id": "9"}, "global_url_params.aff_id: the tracking link sets"),
        # the message id's own parameter, wherever it travels
        ("aff_sub3", {"aff_sub3": "x"}, "global_url_params.aff_sub3: the tracking link sets"),
        ("aff_sub3", {"aff_sub": "{{messageId}}"}, "global_url_params.aff_sub: the tracking link sets"),
        ("affiliate_unique1", {"aff_unique1": "x"}, "global_url_params.aff_unique1: the tracking link sets"),
        # names PHP files under aff_sub all the same
        ("aff_sub", {"aff.sub": "x"}, "global_url_params.aff.sub: the tracking link sets"),
        ("aff_sub", {"aff sub": "x"}, "global_url_params.aff sub: the tracking link sets"),
        ("aff_sub", {"aff_sub[]": "x"}, "global_url_params.aff_sub[]: the tracking link sets"),
        ("aff_sub", {"mid": None}, "global_url_params.mid: must be a string"),
    ],
)
def test_global_params_may_not_replace_the_links_own(tmp_path, message_id_field, params, expected):
    config = with_network_field("global_url_params", params)
    config["networks"][1]["message_id_field"] = message_id_field
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}: networks[1] (bolt): {expected}" in str(error.value)


def test_global_params_the_link_does_not_set_are_kept(tmp_path):
    from trackly_pipeline.config import MESSAGE_ID_FIELDS
    from trackly_pipeline.tune.links import tracking_url

    # acme carries the message id in aff_sub, so aff_sub3 is free for it
    params = {"aff_sub3": "promo", "mid": "{{messageId}}", "AFF_SUB": "x"}
    acme = load_config(write(tmp_path, with_network_field("global_url_params", params, 0))).network("acme")
    url = tracking_url(
        acme.base_url,
        5,
        acme.affiliate_id,
        message_id_param=MESSAGE_ID_FIELDS[acme.message_id_field],
        global_params=acme.global_url_params,
    )
    query = url.split("?")[1].split("&")
    assert query[:3] == ["offer_id=5", "aff_id=1001", "aff_sub={click_id}"]
    assert sorted(query[3:]) == ["AFF_SUB=x", "aff_sub3=promo", "mid={{messageId}}"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yesterday", "partitions_start: 'yesterday' is not a start hour; expected YYYY-MM-DD-HH:MM"),
        ("2026-01-01-00:30", "partitions_start: 2026-01-01T00:30:00 is not on the hour"),
        ("2026-13-01-00:00", "partitions_start: '2026-13-01-00:00' is not a start hour"),
        (20260101, "partitions_start: 20260101 is not a start hour"),
    ],
)
def test_bad_partitions_start_fails_at_load(tmp_path, value, expected):
    path = write(tmp_path, {**BASE, "partitions_start": value})
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}: {expected}" in str(error.value)


@pytest.mark.parametrize("text", ["2026-01-01", "'2026-01-01'", "'2026-01-01-00:00'", "2026-01-01T00:00:00Z"])
def test_a_plain_date_starts_at_its_midnight(tmp_path, text):
    """YAML reads an unquoted 2026-01-01 as a date: it means that day's first hour, and Dagster
    builds its partitions from it (this used to fail in build_definitions, not at load)."""
    from trackly_pipeline.defs.build import build_definitions
    from trackly_pipeline.defs.partitions import hourly_partitions

    path = tmp_path / "trackly.yaml"
    path.write_text(yaml.safe_dump(BASE) + f"partitions_start: {text}\n")
    settings = load_config(path)
    assert settings.partitions_start == "2026-01-01-00:00"
    assert hourly_partitions(settings.partitions_start).get_first_partition_key() == "2026-01-01-00:00"
    assert build_definitions(settings).get_job_def("tune_acme_sync")


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        ({"abc": 3}, "offer_attribution_window_days.abc: 'abc' is not an offer id"),
        ({-4: 3}, "offer_attribution_window_days.-4: -4 is not an offer id"),
        ({True: 3}, "offer_attribution_window_days.True: True is not an offer id"),
        ({12: "3"}, "offer_attribution_window_days.12: must be a positive integer"),
    ],
)
def test_bad_offer_window_key_is_named(tmp_path, windows, expected):
    path = tmp_path / "trackly.yaml"
    path.write_text(yaml.safe_dump(with_network_field("offer_attribution_window_days", windows), sort_keys=False))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}: networks[1] (bolt): {expected}" in str(error.value)


def test_offer_window_keys_may_be_quoted_but_not_repeated(tmp_path):
    path = write(tmp_path, with_network_field("offer_attribution_window_days", {"12": 3, 40: 9}))
    assert load_config(path).network("bolt").offer_attribution_window_days == {12: 3, 40: 9}
    path.write_text(
        yaml.safe_dump(BASE).replace(
            "  network_id: boltmedia\n", "  network_id: boltmedia\n  offer_attribution_window_days: {'12': 3, 12: 4}\n"
        )
    )
    with pytest.raises(ConfigError, match=r"offer_attribution_window_days\.12: offer 12 is given twice"):
        load_config(path)


def test_a_null_offer_name_prefix_means_none(tmp_path):
    path = tmp_path / "trackly.yaml"
    path.write_text(
        yaml.safe_dump(BASE).replace("  network_id: boltmedia\n", "  network_id: boltmedia\n  offer_name_prefix:\n")
    )
    assert load_config(path).network("bolt").offer_name_prefix == ""
    with pytest.raises(ConfigError, match=r"networks\[1\] \(bolt\): offer_name_prefix: must be a string"):
        load_config(write(tmp_path, with_network_field("offer_name_prefix", ["BOLT"])))


@pytest.mark.parametrize(
    ("section", "typo", "expected"),
    [
        (
            "warehouse",
            "duckdb_file",
            "warehouse.duckdb_file: unknown field (allowed: backend, catalog, catalog_password_env, commit_attempts, data_path, duckdb_path, snapshot_retention_days)",
        ),
        ("trackly", "csv_delimiter", "trackly.csv_delimiter: unknown field (allowed: clicks, messages)"),
    ],
)
def test_an_unknown_field_in_a_section_is_named(tmp_path, section, typo, expected):
    """A typo there would not fail later: the pipeline would quietly write or read the default."""
    config = copy.deepcopy(BASE)
    config[section][typo] = "data/prod.duckdb"
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}: {expected}" in str(error.value)


def second_acme_account(affiliate_id: str) -> dict:
    """BASE with a third key on acme's network id: another affiliate account of ours in that network."""
    config = copy.deepcopy(BASE)
    config["networks"].append(
        {
            "key": "acme2",
            "network_id": "acmenet",
            "network_token_env": "TUNE_TEST_ACME",
            "base_url": "https://clicks.itstracking.com",
            "affiliate_id": affiliate_id,
        }
    )
    return config


def test_two_keys_on_one_network_id_load_with_a_warning_naming_them_and_the_column(tmp_path, caplog):
    """Two affiliate accounts on one TUNE network are a legitimate setup; only clicks logged without
    an affiliate id cannot be told apart, which the load says (rollups count them for neither)."""
    with caplog.at_level("WARNING", logger="trackly_pipeline.config"):
        settings = load_config(write(tmp_path, second_acme_account("1077")))
    assert [(n.key, n.network_id, n.affiliate_id) for n in settings.networks] == [
        ("acme", "acmenet", "1001"),
        ("bolt", "boltmedia", "2"),
        ("acme2", "acmenet", "1077"),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert all(
        text in warnings[0]
        for text in (
            str(tmp_path / "trackly.yaml"),
            "'acme' (affiliate_id 1001)",
            "'acme2' (affiliate_id 1077)",
            "'acmenet'",
            "affiliate_id",
            "revenue_by_offer",
        )
    )

    caplog.clear()
    with caplog.at_level("WARNING", logger="trackly_pipeline.config"):
        load_config(write(tmp_path, BASE))
    assert not caplog.records  # one key per network id: nothing to tell apart


def test_one_account_under_two_keys_fails(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"network 'acme2': affiliate_id: network 'acme' has the same network_id "
        r"'acmenet' \(case aside\) and affiliate_id 1001",
    ):
        load_config(write(tmp_path, second_acme_account("1001")))


def test_one_account_under_two_keys_fails_whatever_the_network_ids_case(tmp_path):
    """A network id names its API host (AcmeNet.api.hasoffers.com is acmenet's): both keys would sweep
    one account and count its conversions twice."""
    config = second_acme_account("1001")
    config["networks"][-1]["network_id"] = "AcmeNet"
    with pytest.raises(
        ConfigError,
        match=r"network 'acme2': affiliate_id: network 'acme' has the same network_id "
        r"'AcmeNet' \(case aside\) and affiliate_id 1001",
    ):
        load_config(write(tmp_path, config))


def test_a_missing_section_is_refused_as_not_a_mapping(tmp_path):
    """As an empty one is; a missing plain value is required."""
    path = write(tmp_path, without(BASE, "trackly"))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}: trackly: must be a mapping" in str(error.value)
    path = write(tmp_path, without(BASE, "postback_base_url"))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}: postback_base_url: is required" in str(error.value)


@pytest.mark.parametrize(
    ("problems", "expected"),
    [
        ({"message_id_field": "nope", "affiliate_id": "x"}, "message_id_field: 'nope' is not one of"),
        ({"timezone": "Nowhere/X", "affiliate_id": "x"}, "timezone: unknown time zone 'Nowhere/X'"),
        (
            {"default_currency": "usd", "lookback_days": 0},
            "default_currency: 'usd' is not a 3-letter currency code",
        ),
        ({"offer_sync": {"frequency": "weekly", "auto": "x"}}, "offer_sync.frequency: 'weekly' is not one of"),
    ],
)
def test_a_network_with_several_problems_is_refused_for_the_first_checked(tmp_path, problems, expected):
    """The one the checks have always named first: fixing it shows the next, in the same order."""
    config = copy.deepcopy(BASE)
    config["networks"][1].update(problems)
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}: networks[1] (bolt): {expected}" in str(error.value)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {**BASE, "warehouse": {"duckdb_path": "a?b"}, "networks": [{"key": "Bad"}]},
            "networks[0] (Bad): key: 'Bad' may only hold a-z, 0-9 and _",
        ),
        (without(with_network_field("colour", "blue"), "trackly"), "trackly: must be a mapping"),
    ],
    ids=["networks before the warehouse path", "a missing section before an unknown network field"],
)
def test_a_file_with_several_problems_is_refused_for_the_first_checked(tmp_path, config, expected):
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}: {expected}" in str(error.value)


def test_a_refused_file_warns_of_no_shared_network_id(tmp_path, caplog):
    """The warning is for a file that loads: the refused one is fixed first, and then warns once."""
    config = {**second_acme_account("1077"), "reporting_currency": "usd"}
    with caplog.at_level("WARNING", logger="trackly_pipeline.config"), pytest.raises(ConfigError):
        load_config(write(tmp_path, config))
    assert not caplog.records
    with caplog.at_level("WARNING", logger="trackly_pipeline.config"):
        load_config(write(tmp_path, {**config, "reporting_currency": "USD"}))
    assert ["share the TUNE network_id" in record.getMessage() for record in caplog.records] == [True]


def lake_config(tmp_path: Path, **fields) -> dict:
    """BASE on a DuckLake lake (the catalog string is parsed at load, no server is contacted)."""
    config = copy.deepcopy(BASE)
    config["warehouse"] = {
        "backend": "ducklake",
        "catalog": "dbname=trackly_lake host=127.0.0.1",
        "data_path": str(tmp_path / "lake"),
        **fields,
    }
    return config


def test_snapshot_retention_defaults_to_30_days_and_reaches_the_lake_settings(tmp_path):
    assert load_config(write(tmp_path, lake_config(tmp_path))).lake.snapshot_retention_days == 30
    assert (
        load_config(write(tmp_path, lake_config(tmp_path, snapshot_retention_days=7))).lake.snapshot_retention_days == 7
    )


@pytest.mark.parametrize("value", [0, -5, 2.5, "30", True, None])
def test_a_snapshot_retention_that_is_not_a_whole_number_of_days_is_refused(tmp_path, value):
    """0 would expire every snapshot but the newest at each upkeep (no time travel at all); a string
    or a fraction is a typo the upkeep would otherwise read some other way."""
    path = write(tmp_path, lake_config(tmp_path, snapshot_retention_days=value))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert (
        f"{path}: warehouse.snapshot_retention_days: must be a whole number of days, at least 1 (got {value!r})"
        in str(error.value)
    )
