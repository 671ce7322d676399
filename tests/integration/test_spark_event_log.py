"""Spark's event logs on the test S3 server: a run writes its application's log for a History
Server, and a place that cannot be reached (a missing bucket, an endpoint that never answers) costs
the run one warning line and a few seconds at most, never its outcome. The History Server itself
(`breweries history-server`, Spark's own) lists what the runs wrote, and says in one line what it
cannot reach."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from tests.integration.s3_runs import BIN, Buckets, breweries, run_env
from tests.s3_server import S3Server, free_port

from breweries.api.replay import ReplayServer, ReplayState
from breweries.errors import EXIT_OK
from breweries.settings import Settings
from breweries.spark import EVENT_LOG_CHECK_SECONDS, event_log_conf, event_log_problem

DAY = "2026-03-01"


def settings_for(s3: S3Server, uri: str, endpoint: str | None = None) -> Settings:
    return Settings(
        storage_root="s3a://any-state",
        s3_endpoint_url=endpoint or s3.endpoint,
        spark_event_log_uri=uri,
    )


@pytest.fixture
def s3_keys(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The server's root key in the standard variables, where the check's client finds it."""
    for name, value in s3_server.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    return s3_server


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_reachable_bucket_turns_the_event_log_on(s3_keys: S3Server, caplog) -> None:
    bucket = f"events-{uuid.uuid4().hex[:8]}"
    s3_keys.create_buckets(bucket)
    conf = event_log_conf(settings_for(s3_keys, f"s3a://{bucket}"))
    assert conf == {"spark.eventLog.enabled": "true", "spark.eventLog.dir": f"s3a://{bucket}"}
    assert warnings_of(caplog) == []


def test_a_prefix_with_nothing_under_it_is_made_a_folder_for_spark_and_only_looked_at_by_a_reader(
    s3_keys: S3Server,
) -> None:
    bucket = f"events-{uuid.uuid4().hex[:8]}"
    s3_keys.create_buckets(bucket)
    settings = settings_for(s3_keys, f"s3a://{bucket}/spark/events")
    # Spark refuses an event log folder that does not exist, which to S3A a prefix with nothing
    # under it does not: the reader (the History Server) may not write, so it only says so.
    assert event_log_problem(settings, write=False) == "nothing is under it yet"
    assert s3_keys.keys(bucket) == []
    assert event_log_problem(settings, write=True) is None
    assert s3_keys.keys(bucket) == ["spark/events/"]
    assert event_log_problem(settings, write=False) is None


def test_a_missing_bucket_turns_the_event_log_off_with_one_warning_naming_it(
    s3_keys: S3Server, caplog
) -> None:
    missing = f"no-such-events-{uuid.uuid4().hex[:8]}"
    clock = time.monotonic()
    assert event_log_conf(settings_for(s3_keys, f"s3a://{missing}")) == {}
    assert time.monotonic() - clock < EVENT_LOG_CHECK_SECONDS
    (warning,) = warnings_of(caplog)
    assert f"cannot reach s3a://{missing}" in warning and "NoSuchBucket" in warning, warning
    assert "\n" not in warning


def test_an_endpoint_that_never_answers_costs_the_check_its_timeout_and_no_more(s3_keys, caplog) -> None:
    with silent_endpoint() as endpoint:
        clock = time.monotonic()
        assert event_log_conf(settings_for(s3_keys, "s3a://events", endpoint=endpoint)) == {}
        waited = time.monotonic() - clock
    assert EVENT_LOG_CHECK_SECONDS - 0.5 <= waited < EVENT_LOG_CHECK_SECONDS + 3
    (warning,) = warnings_of(caplog)
    assert "cannot reach s3a://events" in warning and endpoint in warning, warning


def server_env(s3: S3Server, bucket: str) -> dict[str, str]:
    """The History Server's environment as the chart gives it: the logs' place and the object
    store, no layers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREWERIES_", "AWS_"))}
    return {**env, **s3.env(), "BREWERIES_SPARK_EVENT_LOG_URI": f"s3a://{bucket}"}


@contextmanager
def history_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """`breweries history-server` on a free port, until it answers; its URL. Its output goes to
    ``log``."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [BIN / "breweries", "history-server", "--port", str(port), "--update-interval", "1s"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"the History Server ended:\n{log.read_text()[-3000:]}"
            try:
                requests.get(f"{url}/version", timeout=2).raise_for_status()
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, f"no answer in 120 s:\n{log.read_text()[-3000:]}"
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def applications(url: str, count: int, timeout: float = 60) -> list[dict]:
    """The server's application list, once it has ``count`` (it looks for new logs every second)."""
    deadline = time.monotonic() + timeout
    while True:
        listed = requests.get(f"{url}/applications", timeout=10).json()
        if len(listed) >= count or time.monotonic() > deadline:
            return listed
        time.sleep(1)


@pytest.mark.slow
def test_a_run_logs_to_its_bucket_for_the_history_server_and_a_missing_bucket_only_warns(
    s3_server: S3Server, snapshot, tmp_path: Path
) -> None:
    s3 = s3_server
    events, missing = f"events-{uuid.uuid4().hex[:8]}", f"no-such-events-{uuid.uuid4().hex[:8]}"
    s3.create_buckets(events)
    with ReplayServer(ReplayState(snapshot[:500])) as replay:
        logged = run_env(
            s3, Buckets.fresh(s3, tmp_path), replay.url, BREWERIES_SPARK_EVENT_LOG_URI=f"s3a://{events}"
        )
        run = breweries("run", "--date", DAY, "--stages", "bronze,silver", env=logged)
        assert run.returncode == EXIT_OK, run.stderr[-3000:]
        assert "event log" not in run.stderr
        unlogged = run_env(
            s3, Buckets.fresh(s3, tmp_path), replay.url, BREWERIES_SPARK_EVENT_LOG_URI=f"s3a://{missing}"
        )
        run = breweries("run", "--date", DAY, "--stages", "bronze,silver", env=unlogged)
    assert run.returncode == EXIT_OK, run.stderr[-3000:]
    (warning,) = [line for line in run.stderr.splitlines() if "event log" in line]
    assert " WARNING " in warning and f"cannot reach s3a://{missing}" in warning, warning
    assert s3.keys(events), "the logged run wrote no event log"

    with history_server(server_env(s3, events), tmp_path / "history.log") as url:
        (application,) = applications(url, 1)
        assert application["name"] == f"breweries-{DAY}"
        assert application["attempts"][0]["completed"] is True
    with history_server(server_env(s3, missing), tmp_path / "history-missing.log") as url:
        assert applications(url, 1, timeout=5) == []
    said = (tmp_path / "history-missing.log").read_text().splitlines()
    # It says first, in one line, what it cannot reach; Spark's own polls that fail say so in one
    # line each, with no stack trace.
    assert "WARNING" in said[0] and f"cannot reach the event logs at s3a://{missing}" in said[0], said[0]
    assert "NoSuchBucket" in said[0]
    assert not [line for line in said if line.startswith(("\tat ", "Caused by"))], said[:40]
