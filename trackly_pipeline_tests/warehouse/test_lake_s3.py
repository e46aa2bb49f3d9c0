"""A lake whose data path is in object storage (`data_path: s3://...`): the Parquet files go to the
bucket, not to this machine's disk, and writers, readers and the daily upkeep work there as in a
folder. The S3 server is moto's, on 127.0.0.1: real HTTP requests, as DuckDB sends them to AWS or
to an S3-compatible store (AWS_ENDPOINT_URL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.lake import LakeSettings, LakeUnavailable, object_store_secret
from trackly_pipeline.warehouse.lake_upkeep import upkeep

pytestmark = pytest.mark.postgres

BUCKET = "trackly-lake"
ROWS = 5_000  # beyond what DuckLake inlines in its catalog: a Parquet file is written


@pytest.fixture
def s3_server(monkeypatch):
    # Imported here, not at collection: moto takes half a second to import, in every xdist worker.
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # The variables the AWS tools read: the credential chain's keys, and the store's endpoint.
        for name, value in {
            "AWS_ACCESS_KEY_ID": "trackly-test-key",
            "AWS_SECRET_ACCESS_KEY": "trackly-test-secret",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }.items():
            monkeypatch.setenv(name, value)
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET)
        yield s3
    finally:
        server.stop()


def bucket_keys(s3) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.mark.slow  # 3.5 s alone: an S3 server, a lake in it, its upkeep
def test_a_lake_in_object_storage_keeps_its_files_in_the_bucket(s3_server, postgres_database, tmp_path):
    lake = LakeSettings(catalog=postgres_database.dsn, data_path=f"s3://{BUCKET}/trackly/")
    warehouse = Warehouse(tmp_path / "beside", lake=lake)
    with warehouse.connect() as conn:
        warehouse.write(
            conn,
            lambda: conn.execute(
                """
                INSERT INTO trackly.clicks (click_id, message_id, clicked_at, source_file, source_row)
                SELECT 'click-' || i, 'msg' || lpad((i % 97)::VARCHAR, 5, '0'),
                       TIMESTAMPTZ '2026-11-20 00:00:00+00' + i * INTERVAL 1 SECOND, 'clicks.csv', i
                FROM range($rows) AS r (i)
                """,
                {"rows": ROWS},
            ),
        )
    keys = bucket_keys(s3_server)
    assert keys and all(key.startswith("trackly/") for key in keys), keys
    assert any(key.endswith(".parquet") for key in keys), keys
    # Only what the process keeps beside the lake (unrecorded sync outcomes) is local: no data file.
    assert not list(tmp_path.rglob("*.parquet"))

    # A reader in another connection (as an analyst's, READ_ONLY) reads the rows from the bucket.
    with warehouse.connect(read_only=True) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT click_id) FROM trackly.clicks").fetchone() == (ROWS, ROWS)

    # The daily upkeep lists, merges and deletes files in the bucket as in a folder.
    with warehouse.connect() as conn:
        stats = upkeep(
            conn,
            expire_older_than=timedelta(0),
            file_grace=timedelta(0),
            write=lambda body: warehouse.write(conn, body),
        )
    assert stats.before.files_on_disk == len(keys)
    assert stats.after.files_on_disk == len(bucket_keys(s3_server))
    with warehouse.connect(read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM trackly.clicks").fetchone() == (ROWS,)


def test_the_object_store_secret_names_the_endpoint_and_never_a_credential():
    secret = object_store_secret(
        {
            "AWS_ACCESS_KEY_ID": "AKIA-not-here",
            "AWS_SECRET_ACCESS_KEY": "not-here-either",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        }
    )
    assert "PROVIDER credential_chain" in secret
    assert "ENDPOINT '127.0.0.1:9000'" in secret and "USE_SSL false" in secret and "URL_STYLE 'path'" in secret
    assert "not-here" not in secret and "AKIA" not in secret
    # AWS itself: no endpoint, the SDK's own.
    assert "ENDPOINT" not in object_store_secret({})
    # The S3-specific variable wins, as in the AWS SDKs; an endpoint without a scheme is https.
    specific = object_store_secret({"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "b.example.com"})
    assert "ENDPOINT 'b.example.com'" in specific and "USE_SSL true" in specific


def test_an_s3_lake_without_credentials_says_what_to_set(postgres_database, tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # No profile or role to find either: an empty home, and no instance metadata service to ask.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    lake = LakeSettings(catalog=postgres_database.dsn, data_path=f"s3://{BUCKET}/trackly/")
    with (
        pytest.raises(LakeUnavailable, match=r"no credentials for its data path s3://trackly-lake/trackly/"),
        Warehouse(tmp_path / "beside", lake=lake).connect(),
    ):
        pass
