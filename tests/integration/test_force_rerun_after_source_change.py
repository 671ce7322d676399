"""`--force` after the source changed replaces the date's outputs whole: no partition survives."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.pipeline_env import pipeline_env

from breweries.cli import main
from breweries.errors import EXIT_OK

pytestmark = pytest.mark.faults

RUN_DATE = "2026-01-01"


def partitions(root: Path, table: str) -> set[str]:
    base = root / table
    return {str(p.relative_to(base)) for p in base.glob("**/state=*") if p.is_dir()}


def test_a_state_that_disappeared_from_the_source_disappears_from_every_layer(
    tmp_path, monkeypatch, replay_of, snapshot, spark
):
    records = [dict(r) for r in snapshot[:300]]
    records[0].update(country="Atlantis", state_province="Sunken", state="Sunken")
    pipeline_env(monkeypatch, tmp_path, replay_of(records).url)
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK
    before = partitions(tmp_path, "silver/breweries")
    assert f"snapshot_date={RUN_DATE}/country=Atlantis/state=Sunken" in before

    records[0].update(country="Atlantis", state_province="Risen", state="Risen")
    monkeypatch.setenv("BREWERIES_API_URL", replay_of(records).url)
    assert main(["run", "--date", RUN_DATE, "--force"]) == EXIT_OK
    for table in ("silver/breweries", "silver_anonymized/breweries"):
        after = partitions(tmp_path, table)
        assert f"snapshot_date={RUN_DATE}/country=Atlantis/state=Risen" in after, table
        assert not any("state=Sunken" in p for p in after), table
    gold = spark.read.parquet(
        str(tmp_path / "gold" / "breweries_by_type_location" / f"snapshot_date={RUN_DATE}")
    )
    assert {r["state"] for r in gold.where("country = 'Atlantis'").collect()} == {"Risen"}
