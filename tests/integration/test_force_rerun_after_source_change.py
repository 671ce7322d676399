"""`--force` after the source changed replaces the date's outputs whole: no partition survives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.integration.lake_reads import published, published_partitions
from tests.integration.pipeline_env import pipeline_env

from breweries.cli import main
from breweries.errors import EXIT_OK
from breweries.settings import Settings
from breweries.stages.gold import GOLD
from breweries.stages.silver import SILVER
from breweries.stages.silver_anonymized import SILVER_ANONYMIZED

pytestmark = pytest.mark.faults

RUN_DATE = "2026-01-01"


def bronze_records(root: Path) -> list[dict]:
    folder = root / "bronze" / "breweries" / f"ingest_date={RUN_DATE}"
    return [r for page in sorted(folder.glob("page=*.json")) for r in json.loads(page.read_text())]


def test_a_state_that_disappeared_from_the_source_disappears_from_every_layer(
    tmp_path, monkeypatch, replay_of, snapshot, spark
):
    records = [dict(r) for r in snapshot[:300]]
    records[0].update(country="Atlantis", state_province="Sunken", state="Sunken")
    pipeline_env(monkeypatch, tmp_path, replay_of(records).url)
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK
    settings = Settings(storage_root=str(tmp_path))
    # The partitions of the files the published snapshot reads.
    assert (RUN_DATE, "Atlantis", "Sunken") in published_partitions(spark, settings, SILVER)

    records[0].update(country="Atlantis", state_province="Risen", state="Risen")
    monkeypatch.setenv("BREWERIES_API_URL", replay_of(records).url)
    assert main(["run", "--date", RUN_DATE, "--force"]) == EXIT_OK
    for table in (SILVER, SILVER_ANONYMIZED):
        after = published_partitions(spark, settings, table)
        assert (RUN_DATE, "Atlantis", "Risen") in after, table.identifier
        assert not any(p[1:] == ("Atlantis", "Sunken") for p in after), table.identifier
    gold = published(spark, settings, GOLD, RUN_DATE)
    assert {r["state"] for r in gold.where("country = 'Atlantis'").collect()} == {"Risen"}
    # The forced crawl passed the gate, so it replaced the published one; no candidate is left.
    assert {r["state_province"] for r in bronze_records(tmp_path) if r["country"] == "Atlantis"} == {"Risen"}
    assert not [p for p in (tmp_path / "bronze").rglob("*") if p.is_file() and "_candidates" in p.parts]
