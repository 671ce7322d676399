"""The whole pipeline on object storage: every layer in its own bucket on a real S3 server, tables
through Spark's s3a connector (magic committer), pages, manifests, reports and state through boto3."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from tests.integration.s3_runs import Buckets, breweries, download, leftovers, run_env

from breweries.api.replay import ReplayServer, ReplayState
from breweries.errors import EXIT_OK
from breweries.pipeline import STAGE_NAMES
from breweries.tables import read_table
from breweries.transforms.gold import GOLD_SCHEMA
from breweries.transforms.silver import SILVER_SCHEMA

pytestmark = pytest.mark.slow

RUN_DATE = "2026-01-01"
SERVED = 3000  # the snapshot's first breweries: 30+ countries, every table partitioned, a short run


@pytest.fixture(scope="module")
def s3_run(s3_server, snapshot):
    """One run of every stage into five fresh buckets, shared by the tests that inspect it."""
    records = snapshot[:SERVED]
    buckets = Buckets.fresh(s3_server)
    with ReplayServer(ReplayState(records)) as replay:
        env = run_env(s3_server, buckets, replay.url)
        result = breweries("run", "--date", RUN_DATE, env=env)
        assert result.returncode == EXIT_OK, result.stderr[-3000:]
        yield s3_server, buckets, env, records


def test_every_layer_is_in_its_own_bucket(s3_run) -> None:
    s3, buckets, _, _ = s3_run
    tops = {bucket: {key.split("/")[0] for key in s3.keys(bucket)} for bucket in buckets.all()}
    assert tops == {
        buckets.bronze: {"breweries"},
        buckets.silver: {"breweries", "_quarantine", "_quality"},
        buckets.silver_anonymized: {"breweries"},
        buckets.gold: {"breweries_by_type_location"},
        buckets.state: {"_state"},
    }


def test_gold_on_s3_equals_an_independent_count_of_what_was_served(s3_run, spark, tmp_path) -> None:
    s3, buckets, _, records = s3_run
    prefix = f"breweries_by_type_location/snapshot_date={RUN_DATE}"
    gold = read_table(spark, str(download(s3, buckets.gold, prefix, tmp_path)), GOLD_SCHEMA)
    expected = Counter((r["country"], r["state_province"], r["brewery_type"]) for r in records)
    assert {(r.country, r.state, r.brewery_type): r.brewery_count for r in gold.collect()} == dict(expected)


def test_anonymized_silver_on_s3_holds_no_raw_name_or_phone(s3_run, spark, tmp_path) -> None:
    s3, buckets, _, records = s3_run
    prefix = f"breweries/snapshot_date={RUN_DATE}"
    anonymized = read_table(
        spark, str(download(s3, buckets.silver_anonymized, prefix, tmp_path / "a")), SILVER_SCHEMA
    )
    raw = {r[c] for r in records for c in ("name", "phone") if r[c]}
    tokens = {v for row in anonymized.select("name", "phone").collect() for v in row if v}
    assert anonymized.count() == len(records) and tokens and not raw & tokens


def test_nothing_is_left_behind_no_staging_no_magic_no_pending_upload(s3_run) -> None:
    s3, buckets, _, _ = s3_run
    assert leftovers(s3, buckets) == {}


def test_tables_were_committed_by_the_magic_committer_and_marked_complete_last(s3_run) -> None:
    s3, buckets, _, _ = s3_run
    for bucket, table in ((buckets.silver, "breweries"), (buckets.gold, "breweries_by_type_location")):
        folder = f"{table}/snapshot_date={RUN_DATE}/"
        # S3A's committers write a JSON manifest as _SUCCESS, naming themselves.
        marker = json.loads(s3.client().get_object(Bucket=bucket, Key=folder + "_SUCCESS")["Body"].read())
        assert marker["committer"] == "magic", bucket
        written = {
            o["Key"]: o["LastModified"]
            for page in s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder)
            for o in page["Contents"]
        }
        assert written[folder + "_SUCCESS"] == max(written.values()), bucket


def test_the_state_on_s3_is_what_status_shows_and_a_rerun_skips_every_stage(s3_run) -> None:
    s3, buckets, env, _ = s3_run
    status = breweries("status", "--date", RUN_DATE, env=env)
    rows = [line.split() for line in status.stdout.splitlines()[1:]]
    assert [(row[0], row[1]) for row in rows] == [(stage, RUN_DATE) for stage in STAGE_NAMES]
    before = {
        key: s3.client().head_object(Bucket=buckets.state, Key=key)["ETag"] for key in s3.keys(buckets.state)
    }
    rerun = breweries("run", "--date", RUN_DATE, env=env)
    assert rerun.returncode == EXIT_OK
    assert rerun.stderr.count("already done for this date: skipped") == len(STAGE_NAMES)
    assert "spark session started" not in rerun.stderr  # nothing to do: no JVM either
    assert {
        key: s3.client().head_object(Bucket=buckets.state, Key=key)["ETag"] for key in s3.keys(buckets.state)
    } == before


def test_force_after_the_source_changed_leaves_no_stale_object(s3_run, spark, tmp_path) -> None:
    s3, buckets, env, records = s3_run
    gone = next(r["state_province"] for r in records if r["country"] == "United States")
    remaining = [r for r in records if r["state_province"] != gone]
    with ReplayServer(ReplayState(remaining)) as replay:
        forced = breweries("run", "--date", RUN_DATE, "--force", env={**env, "BREWERIES_API_URL": replay.url})
    assert forced.returncode == EXIT_OK, forced.stderr[-3000:]
    for bucket in (buckets.silver, buckets.silver_anonymized, buckets.gold):
        stale = [
            k for k in s3.keys(bucket) if f"state={gone.replace(' ', '%20')}" in k or f"state={gone}/" in k
        ]
        assert stale == [], bucket
    prefix = f"breweries_by_type_location/snapshot_date={RUN_DATE}"
    gold = read_table(spark, str(download(s3, buckets.gold, prefix, tmp_path)), GOLD_SCHEMA)
    assert gold.groupBy().sum("brewery_count").first()[0] == len(remaining)
    assert leftovers(s3, buckets) == {}
