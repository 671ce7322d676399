"""The object-store code path on S3: boto3 against moto's S3 server on 127.0.0.1 (no mocks in-process).

Bronze pages, manifests, state records and listings go through the same `S3Store` calls that
production S3/MinIO gets; failures name the bucket or the endpoint and leave nothing half-written.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import date

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from breweries.errors import StageError, StorageError
from breweries.layout import abandoned_staging_prefix
from breweries.manifest import load_manifest
from breweries.pipeline import STAGE_NAMES
from breweries.runner import RunPolicy, run_pipeline
from breweries.settings import Settings
from breweries.state import StageRun, StateStore
from breweries.storage import S3Store

pytestmark = pytest.mark.faults

RUN_DAY = date(2026, 1, 1)
BUCKETS = ("brew-bronze", "brew-state")


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch):
    """Fresh buckets on the server, and credentials in the environment as a pod would have them."""
    requests.post(f"{s3_server}/moto-api/reset", timeout=10)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test-access-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret-key",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_server)
    for bucket in BUCKETS:
        client.create_bucket(Bucket=bucket)
    return client


def keys(client, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_single_objects_round_trip_and_list(s3, s3_server) -> None:
    store = S3Store(s3_server, path_style=True)
    store.write_bytes("s3a://brew-state/a/one.json", b"1")
    store.write_bytes("s3a://brew-state/a/b/two.json", b"2")
    assert store.read_bytes("s3a://brew-state/a/one.json") == b"1"
    assert store.exists("s3a://brew-state/a") and store.exists("s3a://brew-state/a/b/two.json")
    assert not store.exists("s3a://brew-state/a/on")  # a key prefix is not a folder
    assert store.list_files("s3a://brew-state/a") == [
        "s3a://brew-state/a/b/two.json",
        "s3a://brew-state/a/one.json",
    ]
    store.delete_tree("s3a://brew-state/a/b")
    assert keys(s3, "brew-state") == ["a/one.json"]
    with pytest.raises(StorageError, match=r"s3a://brew-state/a/missing\.json does not exist"):
        store.read_bytes("s3a://brew-state/a/missing.json")


def test_replace_tree_leaves_no_stale_object_from_the_previous_write(s3, s3_server) -> None:
    store = S3Store(s3_server, path_style=True)
    store.write_bytes("s3a://brew-bronze/t/country=A/state=old/part-0.parquet", b"old")
    store.write_bytes("s3a://brew-bronze/_staging/t.run1/country=A/state=new/part-0.parquet", b"new")
    store.replace_tree("s3a://brew-bronze/_staging/t.run1", "s3a://brew-bronze/t")
    assert keys(s3, "brew-bronze") == ["t/country=A/state=new/part-0.parquet"]


def test_staging_left_by_killed_runs_is_deleted_for_that_output_only(s3, s3_server) -> None:
    store = S3Store(s3_server, path_style=True)
    for leftover in ("d=1.run1", "d=1.run2", "d=10.run3"):
        store.write_bytes(f"s3a://brew-bronze/t/_staging/{leftover}/_temporary/part.parquet", b"half")
    store.delete_trees_named(abandoned_staging_prefix("s3a://brew-bronze/t/d=1"))
    assert keys(s3, "brew-bronze") == ["t/_staging/d=10.run3/_temporary/part.parquet"]


def test_forgetting_a_stage_unmarks_it_and_every_later_stage_on_s3(s3, s3_server) -> None:
    state = StateStore(S3Store(s3_server, path_style=True), "s3a://brew-state/_state")
    for stage in STAGE_NAMES:
        state.record(StageRun(stage, "2026-01-01", "s", "f", 1.0, 1, 1, "s3a://x", {}))
    state.forget("quality", RUN_DAY)
    assert [s for s in STAGE_NAMES if state.get(s, RUN_DAY)] == ["bronze", "silver"]


def test_state_records_are_the_parameters_table_on_s3(s3, s3_server) -> None:
    state = StateStore(S3Store(s3_server, path_style=True), "s3a://brew-state/_state")
    run = StageRun("bronze", "2026-01-01", "s", "f", 1.0, 10, 10, "s3a://brew-bronze/x", {})
    state.record(run)
    assert state.get("bronze", RUN_DAY) == run
    assert keys(s3, "brew-state") == ["_state/bronze/run_date=2026-01-01.json"]


def test_the_bronze_stage_stores_pages_manifest_and_state_on_s3(s3, s3_server, replay_of, snapshot) -> None:
    settings = bronze_settings(replay_of(snapshot[:450]).url, s3_server, bronze_uri="s3a://brew-bronze")
    run_pipeline(settings, RUN_DAY, ["bronze"], RunPolicy(), spark_factory=_no_spark)
    prefix = "breweries/ingest_date=2026-01-01/"
    assert keys(s3, "brew-bronze") == [
        prefix + n for n in ("_manifest.json", "page=0001.json", "page=0002.json", "page=0003.json")
    ]
    manifest = load_manifest(S3Store(s3_server, path_style=True), f"s3a://brew-bronze/{prefix}_manifest.json")
    assert manifest.record_count == 450
    body = s3.get_object(Bucket="brew-bronze", Key=prefix + "page=0003.json")["Body"].read()
    assert len(json.loads(body)) == 50
    record = json.loads(
        s3.get_object(Bucket="brew-state", Key="_state/bronze/run_date=2026-01-01.json")["Body"].read()
    )
    assert record["rows_out"] == 450


def test_a_missing_bucket_is_named_and_nothing_is_recorded(s3, s3_server, replay_of, snapshot) -> None:
    settings = bronze_settings(replay_of(snapshot[:250]).url, s3_server, bronze_uri="s3a://no-such-bucket")
    with pytest.raises(StageError) as failure:
        run_pipeline(settings, RUN_DAY, ["bronze"], RunPolicy(), spark_factory=_no_spark)
    assert "no-such-bucket" in str(failure.value) and "NoSuchBucket" in str(failure.value)
    assert keys(s3, "brew-state") == []  # not marked done


def test_wrong_credentials_name_the_bucket_and_write_nothing(s3, s3_server) -> None:
    requests.post(f"{s3_server}/moto-api/reset-auth", data=b"0", timeout=10)  # from now on, check keys
    try:
        with pytest.raises(StorageError, match=r"bucket 'brew-state'.*InvalidAccessKeyId"):
            S3Store(s3_server, path_style=True).write_bytes("s3a://brew-state/x.json", b"{}")
    finally:
        requests.post(f"{s3_server}/moto-api/reset-auth", data=b"inf", timeout=10)
    assert keys(s3, "brew-state") == []


def test_an_endpoint_that_is_down_is_named(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(StorageError, match=f"via {endpoint}"):
        S3Store(endpoint, path_style=True).read_bytes("s3a://brew-state/x.json")


def bronze_settings(api_url: str, s3_server: str, bronze_uri: str) -> Settings:
    """State in brew-state and bronze in ``bronze_uri``, on the S3 server at ``s3_server``."""
    return Settings(
        api_url=api_url, storage_root="s3a://brew-state", bronze_uri=bronze_uri, s3_endpoint_url=s3_server
    )


def _no_spark():
    raise AssertionError("bronze must not start Spark")
