"""Object storage misbehaving under a whole run: a kill mid-write, a bucket that is missing or
denies writes, wrong credentials, an endpoint that is down. Each ends in one clear error that
names the bucket or the endpoint, exit 1 after the retries, and nothing recorded as done."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

import pytest
from tests.integration.s3_runs import (
    BIN,
    Buckets,
    breweries,
    data_files,
    key_of,
    leftovers,
    published_rows,
    run_env,
)
from tests.s3_server import free_port

from breweries.api.replay import ReplayServer, ReplayState
from breweries.errors import EXIT_OK, AccessDeniedError, StorageError
from breweries.pipeline import TABLES
from breweries.stages.silver import SILVER

pytestmark = pytest.mark.faults

SERVED = 2000


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR " in line]


def state_keys(s3, buckets: Buckets) -> list[str]:
    return s3.keys(buckets.state)


@pytest.fixture
def replay(snapshot):
    with ReplayServer(ReplayState(snapshot[:SERVED])) as server:
        yield server


@pytest.mark.slow
def test_a_run_killed_while_spark_writes_to_s3_leaves_nothing_published_and_the_rerun_completes(
    s3_server, replay, tmp_path
) -> None:
    s3, day = s3_server, "2026-02-01"
    reference, killed = Buckets.fresh(s3, tmp_path), Buckets.fresh(s3, tmp_path)
    assert breweries("run", "--date", day, env=run_env(s3, reference, replay.url)).returncode == EXIT_OK

    env = run_env(s3, killed, replay.url)
    assert breweries("run", "--date", day, "--stages", "bronze", env=env).returncode == EXIT_OK
    process = subprocess.Popen(
        [BIN / "breweries", "run", "--date", day], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    # Iceberg writes each data file in place (through s3a); the commit that references them is last.
    deadline = time.monotonic() + 300
    while not [k for k in s3.keys(killed.silver) if k.startswith("breweries/data/")]:
        assert process.poll() is None and time.monotonic() < deadline, "silver never started writing"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    # The kill did land mid-write: silver's files are in its bucket, and no commit references them.
    written = {k for k in s3.keys(killed.silver) if k.startswith("breweries/data/")}
    committed = {key_of(f["file_path"])[1] for f in data_files(s3, killed, SILVER, every_snapshot=True)}
    assert written and not written & committed
    assert published_rows(s3, killed, SILVER, day) == []  # nothing is published
    assert [k for k in state_keys(s3, killed) if "run_date=" in k] == [f"_state/bronze/run_date={day}.json"]

    rerun = breweries("run", "--date", day, env=env)
    assert rerun.returncode == EXIT_OK, rerun.stderr[-3000:]
    assert leftovers(s3, killed) == {}  # staging, candidates and pending uploads all gone
    # Every table reads as the reference run's, which no kill interrupted: but for when each run
    # crawled, and the coordinates, which Spark's JSON reader over s3a now and then cuts short.
    for table in TABLES:
        assert Counter(map(_row, published_rows(s3, killed, table, day))) == Counter(
            map(_row, published_rows(s3, reference, table, day))
        ), table.identifier


def _row(values: dict) -> tuple:
    return tuple(
        sorted((k, v) for k, v in values.items() if k not in ("fetched_at", "latitude", "longitude"))
    )


@pytest.mark.slow
def test_a_silver_bucket_that_denies_writes_is_named_and_silver_is_not_recorded(
    s3_server, replay, tmp_path
) -> None:
    if not s3_server.is_minio:
        pytest.skip(
            f"needs MinIO's STS to make credentials that cannot write; this run uses {s3_server.kind}"
        )
    buckets, day = Buckets.fresh(s3_server, tmp_path), "2026-02-02"
    env = run_env(s3_server, buckets, replay.url, BREWERIES_STAGE_RETRIES="1")
    assert breweries("run", "--date", day, "--stages", "bronze", env=env).returncode == EXIT_OK
    writer = s3_server.read_only_credentials(writable=(buckets.state,))
    denied = {
        **env,
        "AWS_ACCESS_KEY_ID": writer["access_key"],
        "AWS_SECRET_ACCESS_KEY": writer["secret_key"],
        "AWS_SESSION_TOKEN": writer["session_token"],
    }
    result = breweries("run", "--date", day, env=denied)
    # A denial is the credential's policy: named, and not retried (the next attempt has the same).
    assert result.returncode == AccessDeniedError.exit_code
    assert "retrying" not in result.stderr
    [error] = error_lines(result.stderr)
    assert (
        f"stage silver failed for {day}: access denied: " in error and f"(bucket {buckets.silver})" in error
    )
    assert "\tat " not in result.stderr  # no Java stack trace in the log
    assert [k for k in state_keys(s3_server, buckets) if "run_date=" in k] == [
        f"_state/bronze/run_date={day}.json"
    ]
    assert s3_server.keys(buckets.silver) == []


@pytest.mark.slow
def test_a_missing_silver_bucket_is_named(s3_server, replay, tmp_path) -> None:
    buckets, day = Buckets.fresh(s3_server, tmp_path, missing=("silver",)), "2026-02-03"
    env = run_env(s3_server, buckets, replay.url, BREWERIES_STAGE_RETRIES="1")
    result = breweries("run", "--date", day, env=env)
    assert result.returncode == StorageError.exit_code
    [error] = error_lines(result.stderr)
    assert f"stage silver failed for {day}" in error and buckets.silver in error
    assert [k for k in state_keys(s3_server, buckets) if "run_date=" in k] == [
        f"_state/bronze/run_date={day}.json"
    ]


def test_wrong_credentials_end_the_run_naming_the_bucket(s3_server, replay, tmp_path) -> None:
    buckets = Buckets.fresh(s3_server, tmp_path)
    env = run_env(s3_server, buckets, replay.url, BREWERIES_STAGE_RETRIES="1", AWS_SECRET_ACCESS_KEY="wrong")
    result = breweries("run", "--date", "2026-02-04", env=env)
    assert result.returncode == AccessDeniedError.exit_code  # not retried: the key stays wrong
    [error] = error_lines(result.stderr)
    # The first object a run touches is the date's state record.
    assert "stage bronze failed" in error and f"(bucket {buckets.state})" in error
    assert "SignatureDoesNotMatch" in error
    assert state_keys(s3_server, buckets) == []


def test_an_endpoint_that_is_down_ends_the_run_naming_it(s3_server, replay, tmp_path) -> None:
    buckets, endpoint = Buckets.fresh(s3_server, tmp_path), f"http://127.0.0.1:{free_port()}"
    env = run_env(
        s3_server, buckets, replay.url,
        BREWERIES_STAGE_RETRIES="1", BREWERIES_S3_ENDPOINT=endpoint, AWS_MAX_ATTEMPTS="1",
    )  # fmt: skip
    result = breweries("run", "--date", "2026-02-05", env=env, timeout=120)
    assert result.returncode == StorageError.exit_code
    [error] = error_lines(result.stderr)
    assert "stage bronze failed" in error and f"via {endpoint}" in error
