"""The object store on S3, through boto3, against a real S3 server on 127.0.0.1 (MinIO; moto where
MinIO is not built). Bronze pages, manifests, state records and listings go through the same
`S3Store` calls that production gets; failures name the bucket or the endpoint and leave nothing
half-written."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from tests.s3_server import S3Server, free_port

from breweries.errors import AccessDeniedError, StageError, StorageError
from breweries.layout import abandoned_staging_prefix
from breweries.manifest import load_manifest
from breweries.pipeline import STAGE_NAMES
from breweries.runner import RunPolicy, run_pipeline
from breweries.settings import Settings
from breweries.state import StageRun, StateStore
from breweries.storage import S3Store

pytestmark = pytest.mark.faults

RUN_DAY = date(2026, 1, 1)


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The server's credentials in the environment, as a pod would have them."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def buckets(s3: S3Server) -> dict[str, str]:
    """Fresh, empty buckets for one test: bronze and state."""
    suffix = uuid.uuid4().hex[:8]
    names = {"bronze": f"bronze-{suffix}", "state": f"state-{suffix}"}
    s3.create_buckets(*names.values())
    return names


def store(s3: S3Server) -> S3Store:
    return S3Store(s3.endpoint, path_style=True, region="us-east-1")


def test_single_objects_round_trip_and_list(s3, buckets) -> None:
    state = buckets["state"]
    objects = store(s3)
    objects.write_bytes(f"s3a://{state}/a/one.json", b"1")
    objects.write_bytes(f"s3a://{state}/a/b/two.json", b"2")
    assert objects.read_bytes(f"s3a://{state}/a/one.json") == b"1"
    assert objects.exists(f"s3a://{state}/a") and objects.exists(f"s3a://{state}/a/b/two.json")
    assert not objects.exists(f"s3a://{state}/a/on")  # a key prefix is not a folder
    assert objects.list_files(f"s3a://{state}/a") == [
        f"s3a://{state}/a/b/two.json",
        f"s3a://{state}/a/one.json",
    ]
    objects.delete_tree(f"s3a://{state}/a/b")
    assert s3.keys(state) == ["a/one.json"]
    with pytest.raises(StorageError, match=rf"s3a://{state}/a/missing\.json does not exist"):
        objects.read_bytes(f"s3a://{state}/a/missing.json")


def test_replace_tree_leaves_no_stale_object_and_copies_success_last(s3, buckets) -> None:
    bronze = buckets["bronze"]
    objects = store(s3)
    objects.write_bytes(f"s3a://{bronze}/t/country=A/state=old/part-0.parquet", b"old")
    for key in ("_SUCCESS", "country=A/state=new/part-0.parquet", "country=B/state=x/part-1.parquet"):
        objects.write_bytes(f"s3a://{bronze}/_staging/t.run1/{key}", b"new")
    objects.replace_tree(f"s3a://{bronze}/_staging/t.run1", f"s3a://{bronze}/t")
    assert s3.keys(bronze) == [
        "t/_SUCCESS", "t/country=A/state=new/part-0.parquet", "t/country=B/state=x/part-1.parquet"
    ]  # fmt: skip
    # The marker is copied last: no data object is newer than it.
    written = {o["Key"]: o["LastModified"] for o in s3.client().list_objects_v2(Bucket=bronze)["Contents"]}
    assert written["t/_SUCCESS"] == max(written.values())


def test_staging_left_by_killed_runs_is_deleted_with_its_pending_uploads(s3, buckets) -> None:
    bronze = buckets["bronze"]
    objects = store(s3)
    for leftover in ("d=1.run1", "d=1.run2", "d=10.run3"):
        objects.write_bytes(f"s3a://{bronze}/t/_staging/{leftover}/__magic_job-1/part.pending", b"half")
    # What a writer killed mid-upload leaves: a multipart upload begun and never completed.
    for leftover in ("d=1.run1", "d=10.run3"):
        upload = s3.client().create_multipart_upload(
            Bucket=bronze, Key=f"t/_staging/{leftover}/part-0.parquet"
        )
        s3.client().upload_part(
            Bucket=bronze, Key=upload["Key"], UploadId=upload["UploadId"], PartNumber=1, Body=b"x"
        )
    objects.delete_trees_named(abandoned_staging_prefix(f"s3a://{bronze}/t/d=1"))
    assert s3.keys(bronze) == ["t/_staging/d=10.run3/__magic_job-1/part.pending"]
    assert s3.pending_uploads(bronze) == ["t/_staging/d=10.run3/part-0.parquet"]


def test_a_record_is_current_only_while_built_from_its_upstreams_latest_runs_on_s3(s3, buckets) -> None:
    state = StateStore(store(s3), f"s3a://{buckets['state']}/_state")

    def record(stage: str, run_id: str, **inputs: str) -> StageRun:
        run = StageRun(stage, "2026-01-01", "s", "f", 1.0, 1, 1, "s3a://x", {}, run_id, inputs)
        state.record(run)
        return run

    record("bronze", "b1")
    silver = record("silver", "s1", bronze="b1")
    record("quality", "q1", bronze="b1", silver="s1")
    assert [s for s in STAGE_NAMES if state.current(s, RUN_DAY)] == ["bronze", "silver", "quality"]
    # A newer bronze replaces its record; the records built from the old one stay, but are stale.
    record("bronze", "b2")
    assert [s for s in STAGE_NAMES if state.current(s, RUN_DAY)] == ["bronze"]
    assert state.get("silver", RUN_DAY) == silver
    assert state.get("bronze", RUN_DAY).run_id == "b2"
    assert len([k for k in s3.keys(buckets["state"]) if k.startswith("_state/bronze/")]) == 1


def test_state_records_are_the_parameters_table_on_s3(s3, buckets) -> None:
    state = StateStore(store(s3), f"s3a://{buckets['state']}/_state")
    run = StageRun("bronze", "2026-01-01", "s", "f", 1.0, 10, 10, "s3a://brew-bronze/x", {})
    state.record(run)
    assert state.get("bronze", RUN_DAY) == run
    assert s3.keys(buckets["state"]) == ["_state/bronze/run_date=2026-01-01.json"]


def test_the_bronze_stage_stores_pages_manifest_and_state_on_s3(s3, buckets, replay_of, snapshot) -> None:
    settings = bronze_settings(replay_of(snapshot[:450]).url, s3, buckets["state"], buckets["bronze"])
    run_pipeline(settings, RUN_DAY, ["bronze"], RunPolicy(), spark_factory=_no_spark)
    prefix = "breweries/ingest_date=2026-01-01/"
    assert s3.keys(buckets["bronze"]) == [
        prefix + n for n in ("_manifest.json", "page=0001.json", "page=0002.json", "page=0003.json")
    ]
    manifest = load_manifest(store(s3), f"s3a://{buckets['bronze']}/{prefix}_manifest.json")
    assert manifest.record_count == 450
    body = s3.client().get_object(Bucket=buckets["bronze"], Key=prefix + "page=0003.json")["Body"].read()
    assert len(json.loads(body)) == 50
    key = "_state/bronze/run_date=2026-01-01.json"
    record = json.loads(s3.client().get_object(Bucket=buckets["state"], Key=key)["Body"].read())
    assert record["rows_out"] == 450


def test_a_missing_bucket_is_named_and_nothing_is_recorded(s3, buckets, replay_of, snapshot) -> None:
    settings = bronze_settings(replay_of(snapshot[:250]).url, s3, buckets["state"], "no-such-bucket")
    with pytest.raises(StageError) as failure:
        run_pipeline(settings, RUN_DAY, ["bronze"], RunPolicy(), spark_factory=_no_spark)
    assert "no-such-bucket" in str(failure.value) and "NoSuchBucket" in str(failure.value)
    assert s3.keys(buckets["state"]) == []  # not marked done


def test_wrong_credentials_name_the_bucket_and_write_nothing(s3, buckets, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody-we-know")
    # A credential the store does not know is a denial: named, and not worth another attempt.
    with pytest.raises(AccessDeniedError, match=rf"\(bucket {buckets['state']}\).*InvalidAccessKeyId"):
        store(s3).write_bytes(f"s3a://{buckets['state']}/x.json", b"{}")
    assert s3.keys(buckets["state"]) == []


def test_a_bucket_that_denies_writes_is_named_and_keeps_its_objects(s3, buckets, monkeypatch) -> None:
    if not s3.is_minio:
        pytest.skip(f"needs MinIO's STS to make read-only credentials; this run uses {s3.kind}")
    store(s3).write_bytes(f"s3a://{buckets['state']}/kept.json", b"{}")
    reader = s3.read_only_credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", reader["access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", reader["secret_key"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", reader["session_token"])
    with pytest.raises(AccessDeniedError, match=rf"may not write s3a://{buckets['state']}/x.json \(bucket"):
        store(s3).write_bytes(f"s3a://{buckets['state']}/x.json", b"{}")
    assert s3.keys(buckets["state"]) == ["kept.json"]


def test_an_endpoint_that_is_down_is_named(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StorageError, match=f"via {endpoint}"):
        S3Store(endpoint, path_style=True, region="us-east-1").read_bytes("s3a://brew-state/x.json")


def bronze_settings(api_url: str, s3: S3Server, state_bucket: str, bronze_bucket: str) -> Settings:
    return Settings(
        api_url=api_url,
        storage_root=f"s3a://{state_bucket}",
        bronze_uri=f"s3a://{bronze_bucket}",
        s3_endpoint_url=s3.endpoint,
    )


def _no_spark():
    raise AssertionError("bronze must not start Spark")
