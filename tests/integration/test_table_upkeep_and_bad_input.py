"""`breweries maintain`, and the short errors for a catalog or a storage root that cannot be used."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from tests.integration.pipeline_env import pipeline_env

from breweries.cli import main
from breweries.errors import EXIT_OK, SettingsError
from breweries.lake.commits import Lake
from breweries.lake.query import list_tables
from breweries.settings import Settings
from breweries.stages.gold import GOLD

pytestmark = pytest.mark.faults

RUN_DATE = "2026-01-01"


def gold_record(root: Path) -> dict:
    return json.loads((root / "_state" / "gold" / f"run_date={RUN_DATE}.json").read_text())


def test_maintain_expires_snapshots_past_the_retention_and_keeps_the_data(
    tmp_path, monkeypatch, replay_of, snapshot, spark
):
    pipeline_env(monkeypatch, tmp_path, replay_of(snapshot[:200]).url)
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK
    assert main(["run", "--date", RUN_DATE, "--force", "--stages", "gold"]) == EXIT_OK
    lake = Lake(spark, Settings(storage_root=str(tmp_path)))
    snapshots = f"SELECT count(*) AS n FROM {lake.name(GOLD)}.snapshots"
    assert spark.sql(snapshots).first()["n"] == 2

    monkeypatch.setenv("BREWERIES_SNAPSHOT_RETENTION_DAYS", "7")
    assert main(["maintain"]) == EXIT_OK
    assert spark.sql(snapshots).first()["n"] == 2  # both are younger than a week: both readable

    monkeypatch.setenv("BREWERIES_SNAPSHOT_RETENTION_DAYS", "0")
    assert main(["maintain"]) == EXIT_OK
    assert spark.sql(snapshots).first()["n"] == 1
    assert sum(r.brewery_count for r in lake.read(GOLD, date(2026, 1, 1)).collect()) == 200


@pytest.mark.parametrize("root", ["{file}/under-a-file", "/proc/breweries"])
def test_a_storage_root_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, monkeypatch, capfd, root):
    (tmp_path / "file").write_text("")
    pipeline_env(monkeypatch, tmp_path, "http://127.0.0.1:9/v1")
    path = root.format(file=tmp_path / "file")
    assert main(["run", "--date", RUN_DATE, "--storage-root", path]) == SettingsError.exit_code
    err = capfd.readouterr().err
    assert f"BREWERIES_STORAGE_ROOT is {path}, where this user cannot create or write a folder" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_unreachable_catalog_fails_the_stage_naming_it_and_commits_nothing(
    tmp_path, monkeypatch, replay_of, snapshot, capfd
):
    pipeline_env(monkeypatch, tmp_path, replay_of(snapshot[:100]).url)
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK
    before = gold_record(tmp_path)
    monkeypatch.setenv("BREWERIES_CATALOG_URI", "jdbc:postgresql://127.0.0.1:9/lake")
    monkeypatch.setenv("BREWERIES_STAGE_RETRIES", "0")
    capfd.readouterr()
    assert main(["run", "--date", RUN_DATE, "--force", "--stages", "gold"]) == 1
    err = capfd.readouterr().err
    assert "stage gold failed" in err and "jdbc:postgresql://127.0.0.1:9/lake" in err
    assert "Connection refused" in err and "Traceback" not in err
    assert gold_record(tmp_path) == before


def test_a_locked_catalog_is_one_error_naming_it_and_commits_nothing(
    tmp_path, monkeypatch, replay_of, snapshot, capfd
):
    pipeline_env(monkeypatch, tmp_path, replay_of(snapshot[:100]).url)
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK
    before, tables_before = gold_record(tmp_path), list_tables(Settings(storage_root=str(tmp_path)))
    catalog_file = tmp_path / "_catalog" / "iceberg.db"
    # A short wait for the lock, given in the URI, keeps the test quick; the default is 30 s.
    monkeypatch.setenv("BREWERIES_CATALOG_URI", f"jdbc:sqlite:{catalog_file}?busy_timeout=500")
    monkeypatch.setenv("BREWERIES_STAGE_RETRIES", "0")
    holder = sqlite3.connect(catalog_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # as a sqlite3 shell left in a transaction would
    try:
        capfd.readouterr()
        assert main(["run", "--date", RUN_DATE, "--force", "--stages", "gold"]) == 1
        assert main(["sql", "SELECT count(*) FROM gold.breweries_by_type_location"]) == 1
    finally:
        holder.rollback()
        holder.close()
    err = capfd.readouterr().err
    locked = f"the tables' catalog {catalog_file} is locked by another process"
    assert "stage gold failed" in err and err.count(locked) == 2, err
    assert "Traceback" not in err
    assert gold_record(tmp_path) == before
    assert list_tables(Settings(storage_root=str(tmp_path))) == tables_before


def test_sql_without_a_catalog_says_to_run_the_pipeline_first(tmp_path, monkeypatch, capfd):
    pipeline_env(monkeypatch, tmp_path, "http://127.0.0.1:9/v1")
    assert main(["sql", "SELECT 1"]) == SettingsError.exit_code
    assert f"no catalog at {tmp_path}/_catalog/iceberg.db: run the pipeline first" in capfd.readouterr().err
