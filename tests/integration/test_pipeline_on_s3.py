"""The whole pipeline on object storage: every layer in its own bucket on a real S3 server, tables
through Spark's s3a connector and Iceberg's catalog, pages, manifests, reports and state through boto3."""

from __future__ import annotations

from collections import Counter

import pytest
from tests.integration.s3_runs import (
    Buckets,
    breweries,
    data_files,
    key_of,
    lake,
    leftovers,
    published_rows,
    run_env,
)

from breweries.api.replay import ReplayServer, ReplayState
from breweries.errors import EXIT_OK
from breweries.pipeline import STAGE_NAMES
from breweries.stages.gold import GOLD
from breweries.stages.silver import SILVER
from breweries.stages.silver_anonymized import SILVER_ANONYMIZED

pytestmark = pytest.mark.slow

RUN_DATE = "2026-01-01"
SERVED = 3000  # the snapshot's first breweries: 30+ countries, every table partitioned, a short run


@pytest.fixture(scope="module")
def s3_run(s3_server, snapshot, tmp_path_factory):
    """One run of every stage into five fresh buckets, shared by the tests that inspect it."""
    records = snapshot[:SERVED]
    buckets = Buckets.fresh(s3_server, tmp_path_factory.mktemp("catalog"))
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
        buckets.silver: {"breweries", "quarantine", "quality_checks", "_quality"},
        buckets.silver_anonymized: {"breweries"},
        buckets.gold: {"breweries_by_type_location"},
        buckets.state: {"_state"},
    }


def test_gold_on_s3_equals_an_independent_count_of_what_was_served(s3_run) -> None:
    s3, buckets, _, records = s3_run
    gold = published_rows(s3, buckets, GOLD, RUN_DATE)
    expected = Counter((r["country"], r["state_province"], r["brewery_type"]) for r in records)
    assert {(r["country"], r["state"], r["brewery_type"]): r["brewery_count"] for r in gold} == dict(expected)
    assert len(gold) == len(expected)  # one row per country, state and type


def test_silver_on_s3_holds_every_coordinate_as_served(s3_run) -> None:
    # Spark's streaming JSON reader once corrupted a few numbers a run when S3A split them
    # (-94.5797 and NUL characters for -94.57977386): each run hit different records.
    s3, buckets, _, records = s3_run
    silver = {
        row["id"]: (row["longitude"], row["latitude"])
        for row in published_rows(s3, buckets, SILVER, RUN_DATE)
    }
    served = {r["id"]: (r["longitude"], r["latitude"]) for r in records}
    assert silver == served


def test_anonymized_silver_on_s3_holds_no_raw_name_or_phone(s3_run) -> None:
    s3, buckets, _, records = s3_run
    anonymized = published_rows(s3, buckets, SILVER_ANONYMIZED, RUN_DATE)
    raw = {r[c] for r in records for c in ("name", "phone") if r[c]}
    tokens = {row[c] for row in anonymized for c in ("name", "phone") if row[c]}
    assert len(anonymized) == len(records) and tokens and not raw & tokens


def test_nothing_is_left_behind_no_staging_no_magic_no_pending_upload(s3_run) -> None:
    s3, buckets, _, _ = s3_run
    assert leftovers(s3, buckets) == {}


def test_tables_are_committed_by_the_catalog_after_every_file_they_read(s3_run) -> None:
    s3, buckets, _, _ = s3_run
    catalog = lake(s3, buckets)
    for table in (SILVER, SILVER_ANONYMIZED, GOLD):
        # The commit point is the catalog's pointer to a metadata file: it is written after every
        # data file the snapshot reads, each of which is in the table's own folder of its bucket.
        bucket, metadata_key = key_of(catalog.load_table(table.identifier).metadata_location)
        folder = f"{table.name}/"
        assert metadata_key.startswith(folder + "metadata/"), table.identifier
        written = {
            o["Key"]: o["LastModified"]
            for page in s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder)
            for o in page["Contents"]
        }
        files = [key_of(f["file_path"]) for f in data_files(s3, buckets, table)]
        assert files and all(b == bucket and k.startswith(folder + "data/") for b, k in files), (
            table.identifier
        )
        assert all(written[k] <= written[metadata_key] for _, k in files), table.identifier
        assert written[metadata_key] == max(written.values()), table.identifier
        assert not [k for k in written if k.endswith("_SUCCESS")], table.identifier


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


def test_force_after_the_source_changed_leaves_no_stale_row_or_file_published(s3_run) -> None:
    s3, buckets, env, records = s3_run
    gone = next(r["state_province"] for r in records if r["country"] == "United States")
    remaining = [r for r in records if r["state_province"] != gone]
    with ReplayServer(ReplayState(remaining)) as replay:
        forced = breweries("run", "--date", RUN_DATE, "--force", env={**env, "BREWERIES_API_URL": replay.url})
    assert forced.returncode == EXIT_OK, forced.stderr[-3000:]
    # The files the published snapshots read: none holds the state that is gone (earlier snapshots
    # keep theirs, for time travel, until `breweries maintain` expires them).
    for table in (SILVER, SILVER_ANONYMIZED):
        states = {f["partition"]["state"] for f in data_files(s3, buckets, table)}
        assert states and gone not in states, table.identifier
        assert not [r for r in published_rows(s3, buckets, table, RUN_DATE) if r["state"] == gone]
    gold = published_rows(s3, buckets, GOLD, RUN_DATE)
    assert sum(r["brewery_count"] for r in gold) == len(remaining)
    assert gone not in {r["state"] for r in gold}
    assert leftovers(s3, buckets) == {}
