"""The quality gate guards what readers see: a forced rerun that fails, at the gate or before it,
leaves the date's published tables, its published crawl and its success records as they were."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyiceberg.catalog.sql import SqlCatalog
from tests.integration.pipeline_env import pipeline_env

from breweries.cli import main
from breweries.errors import EXIT_OK, ApiError, DataQualityError
from breweries.lake.commits import Lake
from breweries.pipeline import STAGE_NAMES
from breweries.settings import Settings
from breweries.stages.gold import GOLD
from breweries.stages.silver import SILVER

pytestmark = pytest.mark.faults

RUN_DATE = "2026-01-01"
RUN_DAY = date.fromisoformat(RUN_DATE)


def records(root: Path) -> dict[str, bytes]:
    return {s: (root / "_state" / s / f"run_date={RUN_DATE}.json").read_bytes() for s in STAGE_NAMES}


def published(spark, root: Path):
    lake = Lake(spark, Settings(storage_root=str(root)))
    return lake.read(SILVER, RUN_DAY).localCheckpoint(), lake.read(GOLD, RUN_DAY).localCheckpoint()


@pytest.fixture
def good_run(tmp_path, monkeypatch, replay_of, snapshot):
    pipeline_env(monkeypatch, tmp_path, replay_of(snapshot[:300]).url)
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK
    return tmp_path


def test_a_forced_rerun_on_a_source_that_serves_nothing_changes_nothing_readers_see(
    good_run, monkeypatch, replay_of, spark
):
    root = good_run
    silver_before, gold_before = published(spark, root)
    bronze = root / "bronze" / "breweries" / f"ingest_date={RUN_DATE}"
    manifest_before, before = (bronze / "_manifest.json").read_bytes(), records(root)

    monkeypatch.setenv("BREWERIES_API_URL", replay_of([]).url)
    assert main(["run", "--date", RUN_DATE, "--force"]) == DataQualityError.exit_code

    silver_after, gold_after = published(spark, root)
    assert silver_after.count() == 300
    assert_df_equality(silver_after, silver_before, ignore_row_order=True)
    assert_df_equality(gold_after, gold_before, ignore_row_order=True)
    assert (bronze / "_manifest.json").read_bytes() == manifest_before
    after = records(root)
    # Bronze and silver did succeed (beside the published crawl, on the audit branch): only they
    # are replaced, by their newer success. The gate and what it published are untouched.
    assert {s for s in STAGE_NAMES if after[s] != before[s]} == {"bronze", "silver"}
    candidate = Path(json.loads(after["bronze"])["output"].removeprefix("file://"))
    assert (
        candidate.parent.name == "_candidates"
        and json.loads((candidate / "_manifest.json").read_text())["record_count"] == 0
    )


def test_a_forced_rerun_that_cannot_reach_the_api_changes_no_record_and_no_data(good_run, monkeypatch, spark):
    root = good_run
    silver_before, gold_before = published(spark, root)
    before = records(root)
    monkeypatch.setenv("BREWERIES_API_URL", "http://127.0.0.1:9/v1")  # nothing listens on port 9
    monkeypatch.setenv("BREWERIES_HTTP_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("BREWERIES_STAGE_RETRIES", "0")
    assert main(["run", "--date", RUN_DATE, "--force"]) == ApiError.exit_code
    assert records(root) == before
    silver_after, gold_after = published(spark, root)
    assert_df_equality(silver_after, silver_before, ignore_row_order=True)
    assert_df_equality(gold_after, gold_before, ignore_row_order=True)


def test_a_forced_rerun_on_a_changed_source_keeps_the_earlier_snapshot_readable(
    good_run, monkeypatch, replay_of, snapshot
):
    root = good_run
    earlier = json.loads(records(root)["gold"])["snapshots"][GOLD.identifier]
    monkeypatch.setenv("BREWERIES_API_URL", replay_of(snapshot[:200]).url)
    assert main(["run", "--date", RUN_DATE, "--force"]) == EXIT_OK

    # PyIceberg alone, no project code: the catalog file and the table's identifier are all it needs.
    catalog = SqlCatalog("lake", uri=f"sqlite:///{root}/_catalog/iceberg.db", warehouse=f"file://{root}")
    gold = catalog.load_table("gold.breweries_by_type_location")

    def total(snapshot_id: int | None = None) -> int:
        rows = gold.scan(row_filter=f"snapshot_date == '{RUN_DATE}'", snapshot_id=snapshot_id).to_arrow()
        return sum(rows.column("brewery_count").to_pylist())

    assert gold.current_snapshot().snapshot_id != earlier
    assert total() == 200 and total(earlier) == 300
