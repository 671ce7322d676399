"""A run killed mid-write, and two runs of one date at once: nothing stored is lost or mixed.

The kill is real: a `breweries` process gets SIGKILL while Spark is writing silver's files.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import pytest
from tests.integration.lake_reads import main_snapshot, published, referenced_files
from tests.integration.pipeline_env import pipeline_env

from breweries.cli import main
from breweries.errors import EXIT_OK, RunDateBusyError
from breweries.pipeline import STAGE_NAMES, TABLES
from breweries.settings import Settings
from breweries.stages.silver import QUARANTINE, SILVER
from breweries.state import StateStore

pytestmark = pytest.mark.faults

BREWERIES = Path(sys.executable).parent / "breweries"
EARLIER, DAY = "2026-03-01", "2026-03-02"
SKIPPED = "already done for this date: skipped"


def skipped(stderr: str) -> list[str]:
    """The stages a run's log says it skipped, in order."""
    return re.findall(rf"\[(\w+) {DAY}\] {SKIPPED}", stderr)


def stored_files(root: Path) -> dict[str, bytes]:
    """Every file a reader could see: tables' data and metadata, bronze, reports and state (not
    staging, not locks, not the catalog's database, which a reader sees through the tables)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not {"_staging", "_locks", "_catalog"} & set(p.parts)
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


def what_readers_see(spark, settings: Settings) -> dict[tuple[str, str], Counter]:
    """Every table's published rows of both dates."""
    return {
        (table.identifier, day): Counter(published(spark, settings, table, day).collect())
        for table in TABLES
        for day in (EARLIER, DAY)
    }


def test_a_run_killed_while_writing_silver_leaves_every_date_as_readers_saw_it_and_a_rerun_completes(
    tmp_path, monkeypatch, replay_of, snapshot, spark, capfd
):
    pipeline_env(monkeypatch, tmp_path, replay_of(snapshot).url)
    for day in (EARLIER, DAY):
        assert main(["run", "--date", day]) == EXIT_OK
    settings = Settings(storage_root=str(tmp_path))
    before = stored_files(tmp_path)
    seen_before = what_readers_see(spark, settings)
    mains_before = {table.identifier: main_snapshot(spark, settings, table) for table in TABLES}
    # Every table has rows of both dates, but the quarantine: this source sends nothing to it.
    assert {key for key, rows in seen_before.items() if not rows} == {
        (QUARANTINE.identifier, d) for d in (EARLIER, DAY)
    }

    silver_data = tmp_path / "silver" / "breweries" / "data"
    written_before = set(silver_data.rglob("*.parquet"))
    process = subprocess.Popen(
        [BREWERIES, "run", "--date", DAY, "--stages", "silver", "--force"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Iceberg writes each data file in place; the commit that would reference them comes last.
    wait_for(lambda: set(silver_data.rglob("*.parquet")) - written_before, "silver writing", process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    # The kill did land mid-write: silver has new files, and no commit of the table references them.
    orphans = {str(p) for p in set(silver_data.rglob("*.parquet")) - written_before}
    committed = {urlparse(f).path for f in referenced_files(spark, settings, SILVER, every_snapshot=True)}
    assert orphans and not orphans & committed
    after = stored_files(tmp_path)
    # Nothing stored was changed or removed, and every state record is as it was (none is given up
    # when a stage starts); what was added is the killed write's own, under silver's table.
    assert {name: after.get(name) for name in before} == before
    assert all(name.startswith("silver/breweries/") for name in set(after) - set(before))
    assert what_readers_see(spark, settings) == seen_before
    assert {table.identifier: main_snapshot(spark, settings, table) for table in TABLES} == mains_before
    # The date is still done from the records it had: a plain run has nothing to do.
    capfd.readouterr()
    assert main(["run", "--date", DAY]) == EXIT_OK
    assert skipped(capfd.readouterr().err) == list(STAGE_NAMES)

    # The kill released the lock. The killed command completes when run again; its new silver makes
    # the later stages' records stale, so a plain run rebuilds them and skips bronze and silver.
    assert main(["run", "--date", DAY, "--stages", "silver", "--force"]) == EXIT_OK
    capfd.readouterr()
    assert main(["run", "--date", DAY]) == EXIT_OK
    assert skipped(capfd.readouterr().err) == ["bronze", "silver"]
    assert not list(tmp_path.rglob("_staging"))
    assert what_readers_see(spark, settings) == seen_before
    rerun = stored_files(tmp_path)
    assert {k: v for k, v in rerun.items() if EARLIER in k} == {
        k: v for k, v in before.items() if EARLIER in k
    }
    assert rerun[state_path("bronze", DAY)] == before[state_path("bronze", DAY)]
    state, day = StateStore(settings.open_store(), settings.state_uri), date.fromisoformat(DAY)
    assert all(state.current(stage, day) for stage in STAGE_NAMES)
    assert all(rerun[state_path(stage, DAY)] != before[state_path(stage, DAY)] for stage in STAGE_NAMES[1:])

    # The killed write's files stay through `breweries maintain` while younger than its floor for
    # files no snapshot references (the retention, a week: a commit under way may yet reference
    # them); once older, the next one removes them, and every table reads the same.
    assert main(["maintain"]) == EXIT_OK
    assert all(Path(orphan).exists() for orphan in orphans)
    week_and_a_day_ago = time.time() - (settings.snapshot_retention_days + 1) * 86400
    for orphan in orphans:
        os.utime(orphan, (week_and_a_day_ago, week_and_a_day_ago))
    assert main(["maintain"]) == EXIT_OK
    assert not [orphan for orphan in orphans if Path(orphan).exists()]
    assert what_readers_see(spark, settings) == seen_before


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
