"""A run killed mid-write, and two runs of one date at once: nothing stored is lost or mixed.

The kill is real: a `breweries` process gets SIGKILL while Spark is writing silver's files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from chispa import assert_df_equality
from tests.integration.pipeline_env import pipeline_env

from breweries.cli import main
from breweries.errors import EXIT_OK, RunDateBusyError
from breweries.layout import Layout
from breweries.pipeline import STAGE_NAMES
from breweries.settings import Settings
from breweries.tables import read_table
from breweries.transforms.gold import GOLD_SCHEMA
from breweries.transforms.silver import SILVER_SCHEMA

pytestmark = pytest.mark.faults

BREWERIES = Path(sys.executable).parent / "breweries"
EARLIER, DAY = "2026-03-01", "2026-03-02"


def stored_files(root: Path) -> dict[str, bytes]:
    """Every file a reader could see: tables, bronze, reports and state (not staging, not locks)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_staging" not in p.parts and "_locks" not in p.parts
    }


def state_path(stage: str, day: str) -> str:
    return f"_state/{stage}/run_date={day}.json"


def wait_for(condition, what: str, process: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_a_run_killed_while_writing_silver_leaves_every_date_as_it_was_and_a_rerun_completes(
    tmp_path, monkeypatch, replay_of, snapshot, spark
):
    pipeline_env(monkeypatch, tmp_path, replay_of(snapshot).url)
    for day in (EARLIER, DAY):
        assert main(["run", "--date", day]) == EXIT_OK
    before = stored_files(tmp_path)
    layout = Layout(Settings(storage_root=str(tmp_path)))
    day = date.fromisoformat(DAY)
    silver_before = read_table(spark, layout.silver_uri(day), SILVER_SCHEMA).cache()
    gold_before = read_table(spark, layout.gold_uri(day), GOLD_SCHEMA).cache()
    silver_before.count(), gold_before.count()

    staging = tmp_path / "silver" / "breweries" / "_staging"
    process = subprocess.Popen(
        [BREWERIES, "run", "--date", DAY, "--stages", "silver", "--force"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Spark's task files under _temporary exist only while the write is under way.
    wait_for(
        lambda: any("_temporary" in str(p) for p in staging.rglob("*.parquet")), "silver writing", process
    )
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    after = stored_files(tmp_path)
    assert list(staging.iterdir())  # the kill did land mid-write: its staging is still there
    forgotten = {state_path(stage, DAY) for stage in STAGE_NAMES[1:]}  # silver and everything after it
    assert {name: body for name, body in before.items() if name not in forgotten} == after
    assert not any(name in after for name in forgotten)  # nothing claims the date is done

    # The kill released the lock; the rerun skips bronze, rebuilds the rest, cleans the staging.
    assert main(["run", "--date", DAY]) == EXIT_OK
    assert not list(tmp_path.rglob("_staging"))
    assert_df_equality(
        read_table(spark, layout.silver_uri(day), SILVER_SCHEMA), silver_before, ignore_row_order=True
    )
    assert_df_equality(
        read_table(spark, layout.gold_uri(day), GOLD_SCHEMA), gold_before, ignore_row_order=True
    )
    rerun = stored_files(tmp_path)
    assert {k: v for k, v in rerun.items() if EARLIER in k} == {
        k: v for k, v in before.items() if EARLIER in k
    }
    assert rerun[state_path("bronze", DAY)] == before[state_path("bronze", DAY)]


def test_a_second_run_of_a_date_that_is_running_is_refused_and_the_first_completes(
    tmp_path, monkeypatch, replay_of, snapshot, capfd
):
    slow = replay_of(snapshot, latency=0.2)  # ~3 s of crawling: long enough to collide with
    pipeline_env(monkeypatch, tmp_path, slow.url)
    lock = tmp_path / "_state" / "_locks" / f"run_date={DAY}.lock"
    first = subprocess.Popen([BREWERIES, "run", "--date", DAY, "--stages", "bronze"], stderr=subprocess.PIPE)
    wait_for(lambda: lock.exists() and "pid" in lock.read_text(), "the first run took the lock", first)

    assert main(["run", "--date", DAY, "--stages", "bronze"]) == RunDateBusyError.exit_code
    assert f"run date {DAY} is already being run (pid {first.pid} on " in capfd.readouterr().err

    _, err = first.communicate(timeout=120)
    assert first.returncode == EXIT_OK, err.decode()[-2000:]
    bronze = tmp_path / "bronze" / "breweries" / f"ingest_date={DAY}"
    assert len(list(bronze.glob("page=*.json"))) == 60 and (bronze / "_manifest.json").is_file()
    # Once the first run is over, the date is free again (and its finished stage is skipped).
    assert main(["run", "--date", DAY, "--stages", "bronze"]) == EXIT_OK
    assert "already done for this date: skipped" in capfd.readouterr().err


def test_different_dates_run_side_by_side(tmp_path, monkeypatch, replay_of, snapshot):
    settings = Settings(storage_root=str(tmp_path))
    with settings.open_store().run_date_lock(settings.state_uri, date.fromisoformat(EARLIER)):
        pipeline_env(monkeypatch, tmp_path, replay_of(snapshot[:300]).url)
        assert main(["run", "--date", DAY, "--stages", "bronze"]) == EXIT_OK
