"""trackly.yaml's files and paths, and hostile YAML (issue 15, item 4): log globs that can reach the
warehouse's own files or each other's, DuckDB paths DuckDB cannot use, numbers that are not finite,
and alias bombs fail at load, naming the file and the field."""

from __future__ import annotations

import copy
import time
from datetime import UTC
from pathlib import Path

import duckdb
import pytest
import yaml

from trackly_pipeline.config import ConfigError, load_config
from trackly_pipeline.warehouse.schema import string_literal
from trackly_pipeline_tests.test_config import BASE, tokens, write  # noqa: F401 (tokens: the autouse fixture)


def with_paths(clicks: str, messages: str, duckdb_path: str = "data/warehouse.duckdb") -> dict:
    config = copy.deepcopy(BASE)
    config["trackly"] = {"clicks": clicks, "messages": messages}
    config["warehouse"] = {"duckdb_path": duckdb_path}
    return config


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as error:
        load_config(path)
    return str(error.value)


@pytest.mark.parametrize(
    ("messages", "reaches"),
    [
        # the issue's glob: it read the analysts' copy's month files of trackly.messages, every run
        (
            "data/*/*messages*/*.parquet",
            "the analysts' copy's month files (warehouse_analytics.parts/trackly.messages/",
        ),
        ("data/*/*/*.parquet", "the analysts' copy's month files (warehouse_analytics.parts/"),
        ("data/warehouse_analytics.parts/trackly.messages/*.parquet", "the analysts' copy's month files"),
        ("data/*.parts/*/2026-*", "the analysts' copy's month files"),
        ("data/**", "the warehouse (warehouse.duckdb)"),  # not recursive: ** is one component, as glob.glob reads it
        ("data/*", "the warehouse (warehouse.duckdb)"),
        ("data/*.wal", "the warehouse's write-ahead log (warehouse.duckdb.wal)"),
        ("data/.*", "the analysts' copy being written"),
        ("data/*/*", "a folder of the analysts' copy's month files"),
        ("link/*/*messages*/*.parquet", "the analysts' copy's month files"),  # link -> data
    ],
)
def test_a_log_glob_that_can_reach_the_warehouse_is_refused(tmp_path, messages, reaches):
    """Decided on the patterns, before the files exist (month files are written later, under new names)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "data")
    path = write(tmp_path, with_paths("logs/clicks/*.parquet", messages))
    message = refused(path)
    assert message.startswith(f"{path}: trackly.messages: ")
    assert reaches in message and "each run would load the pipeline's own files" in message


@pytest.mark.parametrize(
    "messages",
    [
        "data/*.parquet",  # beside the warehouse, but no file it writes ends so
        "data/*/x*.parquet",  # one level into the month files' folder: only table folders there
        "data/*/*/x*.parquet",  # month files are named <YYYY-MM>.<version>.parquet
        "data/trackly/messages/*.parquet",
        "data/*/messages/*.parquet",
        "data/*.csv",
    ],
)
def test_a_log_glob_beside_the_warehouse_that_cannot_reach_its_files_loads(tmp_path, messages):
    settings = load_config(write(tmp_path, with_paths("logs/clicks/*.parquet", messages)))
    assert settings.messages_glob == str(tmp_path / messages)


def test_the_glob_of_the_issue_no_longer_doubles_the_messages(tmp_path):
    """The issue's setup end to end with the old behaviour: the glob matched the copy's month files,
    and each load + publish doubled trackly.messages. Now the configuration is refused first."""
    from trackly_pipeline.warehouse.database import Warehouse

    path = write(tmp_path, with_paths("logs/clicks/*.parquet", "data/*/*messages*/*.parquet"))
    assert "trackly.messages" in refused(path)
    # What that glob would have read: the month files a publish writes.
    (tmp_path / "data" / "trackly" / "messages").mkdir(parents=True)
    duckdb.sql(
        "SELECT 'm0000001' AS message_id, 1 AS creative_id, 2 AS campaign_id, 3 AS contact_id, "
        "4 AS sending_list_id, TIMESTAMPTZ '2026-11-02 10:00:00+00' AS sent_at"
    ).write_parquet(str(tmp_path / "data" / "trackly" / "messages" / "m.parquet"))
    warehouse = Warehouse(tmp_path / "data" / "warehouse.duckdb")
    from datetime import datetime

    from trackly_pipeline.warehouse.log_files import LogFileError
    from trackly_pipeline.warehouse.trackly_logs import load_log_files

    with warehouse.connect() as conn:
        load_log_files(conn, "messages", str(tmp_path / "data" / "*" / "*messages*" / "*.parquet"), datetime.now(UTC))
        warehouse.publish(conn)
        # ... and the next load meets the copy's month file, and refuses it (the loader's own check)
        with pytest.raises(LogFileError, match="the analysts' copy's month files"):
            load_log_files(
                conn, "messages", str(tmp_path / "data" / "*" / "*messages*" / "*.parquet"), datetime.now(UTC)
            )
        assert conn.execute("SELECT count(*) FROM trackly.messages").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("clicks", "messages"),
    [
        ("logs/*/*.parquet", "logs/messages/*.parquet"),
        ("logs/*.parquet", "logs/m*.parquet"),
        ("logs/clicks/*", "logs/clicks/messages-*.csv"),
        ("logs/[cm]*/*.parquet", "logs/messages/*.parquet"),
        ("logs/c*/*.parquet", "logs/*s/*.parquet"),  # logs/clicks/x.parquet
    ],
)
def test_click_and_message_globs_that_can_match_one_file_are_refused(tmp_path, clicks, messages):
    path = write(tmp_path, with_paths(clicks, messages))
    message = refused(path)
    assert message.startswith(f"{path}: trackly.messages: ")
    assert f"and trackly.clicks {str(tmp_path / clicks)!r} can match the same file" in message


@pytest.mark.parametrize(
    ("clicks", "messages"),
    [
        ("logs/c*.parquet", "logs/m*.parquet"),
        ("logs/*.csv", "logs/*.parquet"),
        ("logs/*/clicks-*.parquet", "logs/*/messages-*.parquet"),
        ("logs/clicks/*.parquet", "logs/*/*/*.parquet"),  # another depth: glob.glob does not recurse
    ],
)
def test_click_and_message_globs_that_cannot_meet_load(tmp_path, clicks, messages):
    settings = load_config(write(tmp_path, with_paths(clicks, messages)))
    assert (settings.clicks_glob, settings.messages_glob) == (str(tmp_path / clicks), str(tmp_path / messages))


@pytest.mark.parametrize(
    ("duckdb_path", "expected"),
    [
        ("data/w?.duckdb", "holds '?': DuckDB reads it as the start of a URL query"),
        ("data/w*.duckdb", "holds '*': DuckDB expands it as a pattern"),
        ("data[1]/w.duckdb", "holds '[': DuckDB expands it as a pattern"),
        ("data/w\\1.duckdb", "holds '\\\\': DuckDB reads it as a folder separator"),
        ("data/o'neil.duckdb", "holds \"'\": the analysts' copy's views name their month files in SQL text"),
        ("data/w\x00.duckdb", "a path cannot hold a NUL character"),
        ("data", "is a folder; name the DuckDB file in it"),
    ],
)
def test_a_duckdb_path_duckdb_cannot_use_is_refused(tmp_path, duckdb_path, expected):
    (tmp_path / "data").mkdir()
    path = write(tmp_path, with_paths("logs/clicks/*.parquet", "logs/messages/*.parquet", duckdb_path))
    message = refused(path)
    assert message.startswith(f"{path}: warehouse.duckdb_path: ")
    assert expected in message


def test_a_duckdb_path_reaching_such_a_folder_through_a_symlink_is_refused(tmp_path):
    """The analysts' copy's views name the month files by their real path (publish.py)."""
    real = tmp_path / "o'neil"
    real.mkdir()
    (tmp_path / "data").symlink_to(real)
    path = write(
        tmp_path, with_paths("logs/clicks/*.parquet", "logs/messages/*.parquet", str(tmp_path / "data" / "w.duckdb"))
    )
    assert refused(path).startswith(f'{path}: warehouse.duckdb_path: {str(real / "w.duckdb")!r} holds "\'"')


def test_a_question_mark_in_the_duckdb_path_does_break_duckdb(tmp_path):
    """Why '?' is refused: DuckDB puts the write-ahead log elsewhere and the commit fails."""
    folder = tmp_path / "q?x"
    folder.mkdir()
    conn = duckdb.connect()
    conn.execute(f"ATTACH {string_literal(str(folder / 'w.duckdb'))} AS w")
    with pytest.raises(duckdb.Error, match="wal"):
        conn.execute("CREATE TABLE w.t AS SELECT range AS x FROM range(10)")


@pytest.mark.parametrize("field", ["timeout_s", "backoff_base_s", "rate_limit_window_s"])
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN", "1e12", "86401"])
def test_seconds_must_be_finite_and_at_most_a_day(tmp_path, field, value):
    """YAML reads .nan and .inf as floats; every TUNE call then failed with an uncaught error."""
    path = tmp_path / "trackly.yaml"
    path.write_text(
        yaml.safe_dump(BASE).replace("  network_id: boltmedia\n", f"  network_id: boltmedia\n  {field}: {value}\n")
    )
    message = refused(path)
    assert message.startswith(
        f"{path}: networks[1] (bolt): {field}: must be a positive number of seconds, at most 86400"
    )


def test_seconds_within_a_day_load(tmp_path):
    path = tmp_path / "trackly.yaml"
    path.write_text(
        yaml.safe_dump(BASE).replace(
            "  network_id: boltmedia\n", "  network_id: boltmedia\n  timeout_s: 86400\n  backoff_base_s: 0.5\n"
        )
    )
    bolt = load_config(path).network("bolt")
    assert (bolt.timeout_s, bolt.backoff_base_s) == (86400.0, 0.5)


def alias_bomb(levels: int) -> str:
    """9 values, then `levels - 1` layers of 9 aliases each to the layer before: 9**levels values."""
    layers = ['&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    layers += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "[" + ", ".join(layers) + "]"


@pytest.mark.parametrize("levels", [6, 9])
def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path, levels):
    """700 bytes took 20 s and 2.4 GB (reporting_currency's str() built the expansion). levels=6 is
    the one checked against the old code (9**6 values, a quick failure there too)."""
    path = tmp_path / "trackly.yaml"
    path.write_text(yaml.safe_dump(BASE) + f"reporting_currency: {alias_bomb(levels)}\n")
    assert len(path.read_bytes()) < 1500
    started = time.monotonic()
    message = refused(path)
    assert time.monotonic() - started < 2
    assert message.startswith(f"{path}: its YAML aliases (*name) repeat ")
    assert "more than the 10,000 allowed" in message


def test_yaml_aliases_for_shared_network_settings_load(tmp_path):
    """A merge key (`<<: *acme`) repeating a network's settings: what aliases are for in a trackly.yaml."""
    path = tmp_path / "trackly.yaml"
    path.write_text("""
warehouse: {duckdb_path: data/trackly.duckdb}
trackly: {clicks: logs/clicks/*.parquet, messages: logs/messages/*.parquet}
postback_base_url: https://app.example.com
networks:
  - &acme {key: acme, network_id: acmenet, network_token_env: TUNE_TEST_ACME, base_url: https://clicks.itstracking.com,
           affiliate_id: "1001", offer_sync: {auto: true, frequency: daily}}
  - {<<: *acme, key: bolt, network_id: boltmedia, network_token_env: TUNE_TEST_BOLT, affiliate_id: "2"}
""")
    settings = load_config(path)
    assert [(n.key, n.base_url, n.offer_sync.frequency) for n in settings.networks] == [
        ("acme", "https://clicks.itstracking.com", "daily"),
        ("bolt", "https://clicks.itstracking.com", "daily"),
    ]


def test_a_value_containing_itself_and_deep_nesting_are_refused(tmp_path):
    path = tmp_path / "trackly.yaml"
    path.write_text(yaml.safe_dump(BASE) + "reporting_currency: &loop [*loop]\n")
    assert "a YAML alias (*name) inside the value of its own anchor" in refused(path)
    path.write_text(yaml.safe_dump(BASE) + "reporting_currency: " + "[" * 5000 + "]" * 5000 + "\n")
    assert refused(path) == f"{path}: not valid YAML here: values nested too deeply"
