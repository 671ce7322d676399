"""The commands as users run them: separate processes, the replay on a port, the stage entry points."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.integration.lake_reads import published

from breweries.cli import main
from breweries.errors import EXIT_OK, ApiError, SettingsError
from breweries.settings import Settings
from breweries.stages.gold import GOLD

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
# A stage image's mainApplicationFile (images/stage/Dockerfile copies it to /opt/breweries/).
RUN_STAGE = REPO / "images" / "stage" / "run_stage.py"


@pytest.fixture
def replay_process():
    """`breweries api-replay --port 0` in its own process; yields its URL."""
    process = subprocess.Popen(
        [BIN / "breweries", "api-replay", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        yield json.loads(process.stdout.readline())["url"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREWERIES_")}
    return {**env, **values}


@pytest.mark.slow
def test_breweries_run_against_a_running_replay_produces_gold_for_every_brewery(
    tmp_path, replay_process, spark
):
    env = clean_env(
        BREWERIES_API_URL=replay_process,
        BREWERIES_STORAGE_ROOT=str(tmp_path),
        BREWERIES_PSEUDONYMIZATION_KEY="process-test-key",
    )
    result = subprocess.run(
        [BIN / "breweries", "run", "--date", "2026-01-01"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == EXIT_OK, result.stderr[-3000:]
    gold = published(spark, Settings(storage_root=str(tmp_path)), GOLD, "2026-01-01")
    assert gold.groupBy().sum("brewery_count").first()[0] == 11822
    assert {"country", "state", "brewery_type", "brewery_count"} == set(gold.columns)
    # A local run prints the pipeline's story: every line is one of ours, none is the JVM's.
    ours = re.compile(r"^\d\d:\d\d:\d\d (INFO|WARNING|ERROR) ")
    assert [line for line in result.stderr.splitlines() if not ours.match(line)] == []
    assert "spark session started" in result.stderr


def test_an_unreachable_api_ends_in_one_line_that_names_it_and_suggests_the_demo(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        api = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    env = clean_env(  # the default retry policy, as a user meets it
        BREWERIES_API_URL=api,
        BREWERIES_STORAGE_ROOT=str(tmp_path),
        BREWERIES_PSEUDONYMIZATION_KEY="process-test-key",  # else the run stops before bronze
    )
    started = time.monotonic()
    result = subprocess.run(
        [BIN / "breweries", "run", "--date", "2026-01-01"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == ApiError.exit_code
    lines = result.stderr.splitlines()
    # One brief retry of the request, said in one short line; the stage is not started again.
    assert sum("refused the connection; retrying in 1 s" in line for line in lines) == 1
    assert sum(" started" in line for line in lines) == 1 and "attempt 1 failed" not in result.stderr
    assert all(len(line) < 400 and "HTTPConnectionPool" not in line for line in lines)
    errors = [line for line in lines if " ERROR " in line]
    assert len(errors) == 1 and errors == lines[-1:]
    assert f"the API at {api} cannot be reached" in errors[0] and "breweries demo" in errors[0]
    # The policy's own time, from the stage's start to its failure (the lines' clock, to the second):
    # one 1 s wait (it was 76 s: 5 requests in each of 4 stage attempts). The process as a whole adds
    # the interpreter's start, about 2 s, which a busy 2-core machine has stretched past 15 s.
    spent = (seconds_of_day(lines[-1]) - seconds_of_day(lines[0])) % 86400
    assert spent <= 3, f"the stage took {spent} s to fail"
    assert elapsed < 60, f"an unreachable API took {elapsed:.1f} s to fail"


def seconds_of_day(line: str) -> int:
    hours, minutes, seconds = (int(part) for part in line[:8].split(":"))
    return hours * 3600 + minutes * 60 + seconds


@pytest.mark.slow
def test_the_stage_entry_point_runs_under_spark_submit_like_a_spark_application(tmp_path, replay_process):
    # What a SparkApplication's driver runs: spark-submit of run_stage.py, the stage named by the
    # image's BREWERIES_STAGE, the workflow's --date and --force.
    env = clean_env(
        BREWERIES_API_URL=replay_process,
        BREWERIES_STORAGE_ROOT=str(tmp_path),
        BREWERIES_LOG_FORMAT="json",
        BREWERIES_STAGE="bronze",
        PYSPARK_PYTHON=sys.executable,
    )
    result = subprocess.run(
        [BIN / "spark-submit", "--master", "local[1]", "--conf", "spark.ui.enabled=false",
         RUN_STAGE, "--date=2026-01-02", "--force=false"],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    # spark-submit passes the Python driver's output on through its own stdout, beside the JVM's
    # lines (kubectl logs shows both streams): ours are the JSON objects.
    output = result.stdout + result.stderr
    logs = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    finished = next(entry for entry in logs if entry["message"] == "finished")
    assert finished["stage"] == "bronze" and finished["run_date"] == "2026-01-02"
    assert finished["rows_out"] == 11822
    assert (tmp_path / "bronze" / "breweries" / "ingest_date=2026-01-02" / "_manifest.json").is_file()


def test_the_stage_entry_point_without_a_stage_says_what_sets_it() -> None:
    result = subprocess.run(
        [sys.executable, RUN_STAGE, "--date=2026-01-02"], env=clean_env(), capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "BREWERIES_STAGE is not set" in result.stderr


@pytest.mark.slow
def test_demo_prints_gold_rows_and_a_passing_quality_summary(tmp_path, spark, capsys):
    assert main(["demo", "--storage-root", str(tmp_path), "--date", "2026-01-03"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "gold: breweries_by_type_location for 2026-01-03" in out
    assert re.search(r"^\s+Germany\s+Bayern\s+brewpub\s+539$", out, re.MULTILINE)
    assert "sum of brewery_count: 11822 (the replay served 11822)" in out
    assert "data quality for 2026-01-03: PASSED" in out


def test_the_anonymize_stage_refuses_to_run_without_a_key(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("BREWERIES_STORAGE_ROOT", str(tmp_path))
    for stage in ("bronze", "silver", "quality"):  # pretend its inputs are done
        (tmp_path / "_state" / stage).mkdir(parents=True)
        (tmp_path / "_state" / stage / "run_date=2026-01-01.json").write_text(
            json.dumps({"stage": stage, "run_date": "2026-01-01", "started_at": "", "finished_at": "",
                        "duration_seconds": 0, "rows_in": 0, "rows_out": 0, "output": ""})
        )  # fmt: skip
    assert main(["stage", "silver_anonymized", "--date", "2026-01-01"]) == SettingsError.exit_code
    assert "BREWERIES_PSEUDONYMIZATION_KEY is not set" in capfd.readouterr().err


def test_bad_flags_and_settings_exit_2_naming_them(capfd, monkeypatch):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--date", "01/02/2026"])
    assert (
        exit_info.value.code == SettingsError.exit_code
        and "--date must be YYYY-MM-DD" in capfd.readouterr().err
    )
    monkeypatch.setenv("BREWERIES_HTTP_CONCURRENCY", "many")
    assert main(["run"]) == SettingsError.exit_code
    assert "BREWERIES_HTTP_CONCURRENCY must be a number" in capfd.readouterr().err
    # A driver's bad setting is a JSON line like every other, so `kubectl logs` and the retry rule see it.
    monkeypatch.setenv("BREWERIES_LOG_FORMAT", "json")
    assert main(["stage", "silver", "--date", "2026-01-01"]) == SettingsError.exit_code
    [line] = capfd.readouterr().err.splitlines()
    assert (
        json.loads(line)["level"] == "error" and "BREWERIES_HTTP_CONCURRENCY" in json.loads(line)["message"]
    )
    monkeypatch.delenv("BREWERIES_LOG_FORMAT")
    monkeypatch.delenv("BREWERIES_HTTP_CONCURRENCY")
    assert main(["run", "--stages", "bronze,platinum"]) == SettingsError.exit_code
    assert "--stages: unknown stage platinum" in capfd.readouterr().err
