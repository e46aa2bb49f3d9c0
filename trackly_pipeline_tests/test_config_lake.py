"""The warehouse section's DuckLake fields: refused at load, naming the field, and never quoting a
password; the lake settings a valid section gives."""

from __future__ import annotations

import copy

import pytest

from trackly_pipeline.config import ConfigError, load_config
from trackly_pipeline_tests.test_config import BASE, tokens, write  # noqa: F401 (tokens: the autouse fixture)

LAKE = {"backend": "ducklake", "catalog": "dbname=trackly_lake host=127.0.0.1 user=trackly", "data_path": "lake"}


def with_warehouse(section: dict) -> dict:
    config = copy.deepcopy(BASE)
    config["warehouse"] = section
    return config


def test_a_lake_section_loads_with_its_folder_resolved_against_the_file(tmp_path):
    settings = load_config(write(tmp_path, with_warehouse(LAKE)))
    assert settings.lake.catalog == LAKE["catalog"]
    assert settings.lake.data_path == f"{tmp_path / 'lake'}/"
    assert settings.lake.password_env is None
    assert settings.warehouse().lake == settings.lake
    assert settings.warehouse().name == "ducklake:trackly_lake@127.0.0.1"


def test_the_default_backend_is_the_duckdb_file(tmp_path):
    settings = load_config(write(tmp_path, BASE))
    assert settings.lake is None and settings.warehouse().lake is None


def test_an_s3_data_path_is_kept_as_a_url(tmp_path):
    settings = load_config(write(tmp_path, with_warehouse({**LAKE, "data_path": "s3://bucket/trackly"})))
    assert settings.lake.data_path == "s3://bucket/trackly/"


@pytest.mark.parametrize(
    "section, expected",
    [
        ({**LAKE, "catalog": None}, "warehouse.catalog: is required"),
        ({"backend": "ducklake", "data_path": "lake"}, "warehouse.catalog: is required with backend: ducklake"),
        (
            {"backend": "ducklake", "catalog": LAKE["catalog"]},
            "warehouse.data_path: is required with backend: ducklake",
        ),
        ({"catalog": LAKE["catalog"]}, "warehouse.catalog: is read only with backend: ducklake"),
        ({"data_path": "lake"}, "warehouse.data_path: is read only with backend: ducklake"),
        ({"commit_attempts": 3}, "warehouse.commit_attempts: is read only with backend: ducklake"),
        (
            {"backend": "duckdb", "snapshot_retention_days": 7},
            "warehouse.snapshot_retention_days: is read only with backend: ducklake",
        ),
        ({**LAKE, "backend": "sqlite"}, "warehouse.backend: 'sqlite' is not one of duckdb, ducklake"),
        ({**LAKE, "catalog": "host=127.0.0.1"}, "warehouse.catalog: names no dbname"),
        ({**LAKE, "catalog": "dbname='unterminated"}, "warehouse.catalog: is not a libpq connection string"),
        (
            {**LAKE, "data_path": "http://example.com/lake"},
            "warehouse.data_path: 'http://example.com/lake': a folder or an s3:// URL",
        ),
        ({**LAKE, "commit_attempts": 0}, "warehouse.commit_attempts: must be a whole number from 1 to 50"),
        ({**LAKE, "commit_attempts": True}, "warehouse.commit_attempts: must be a whole number from 1 to 50"),
        ({**LAKE, "data_path": "s3://"}, "warehouse.data_path: 's3://': an s3:// URL names its bucket"),
        (
            {**LAKE, "catalog_password_env": "lower case"},
            "warehouse.catalog_password_env: 'lower case' is not an environment variable name",
        ),
        (
            {**LAKE, "catalog_password_env": "TRACKLY_TEST_UNSET_PASSWORD"},
            "environment variable TRACKLY_TEST_UNSET_PASSWORD is not set",
        ),
        ({**LAKE, "catalgo": "x"}, "warehouse.catalgo: unknown field"),
    ],
)
def test_a_bad_lake_field_is_named(tmp_path, monkeypatch, section, expected):
    monkeypatch.delenv("TRACKLY_TEST_UNSET_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, with_warehouse(section)))
    assert expected in str(refused.value)
    assert str(tmp_path / "trackly.yaml") in str(refused.value)


def test_a_password_in_the_catalog_is_refused_without_quoting_it(tmp_path):
    catalog = "dbname=trackly_lake host=127.0.0.1 password=hunter2-never-shown"
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, with_warehouse({**LAKE, "catalog": catalog})))
    assert "warehouse.catalog: holds a password: name the variable that holds it in catalog_password_env" in str(
        refused.value
    )
    assert "hunter2" not in str(refused.value)


def test_the_password_is_read_from_its_variable_when_a_connection_opens(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKLY_TEST_LAKE_PASSWORD", "first")
    settings = load_config(
        write(tmp_path, with_warehouse({**LAKE, "catalog_password_env": "TRACKLY_TEST_LAKE_PASSWORD"}))
    )
    assert "first" not in repr(settings)  # the settings hold the variable's name only
    monkeypatch.setenv("TRACKLY_TEST_LAKE_PASSWORD", "rotated")
    assert settings.lake.password() == "rotated"


def test_a_log_glob_that_can_match_the_lakes_data_files_is_refused(tmp_path):
    # The lake writes data/lake/<schema>/<table>/ducklake-<id>.parquet: this glob reaches them.
    config = with_warehouse({**LAKE, "data_path": "data/lake"})
    config["trackly"] = {"clicks": "data/*/*/*/*.parquet", "messages": "logs/messages/*.parquet"}
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, config))
    assert "trackly.clicks:" in str(refused.value)
    assert "can match the lake's data files" in str(refused.value)
    assert "under warehouse.data_path" in str(refused.value)


def test_log_globs_beside_the_lake_load(tmp_path):
    config = with_warehouse({**LAKE, "data_path": "data/lake"})
    config["trackly"] = {"clicks": "data/logs/clicks/*.parquet", "messages": "data/logs/messages/*.parquet"}
    assert load_config(write(tmp_path, config)).lake is not None
