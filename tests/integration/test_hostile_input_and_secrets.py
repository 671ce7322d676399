"""Input from the API is data, never paths; secrets never reach logs, reports or state records."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from tests.integration.lake_reads import published
from tests.integration.pipeline_env import pipeline_env

from breweries.cli import main
from breweries.errors import EXIT_OK, DataQualityError
from breweries.settings import Settings
from breweries.stages.silver import SILVER

pytestmark = pytest.mark.faults

RUN_DATE = "2026-01-01"
SECRET_KEY = "pseudonymization-key-7f3a9c1e"
SECRET_TOKEN = "T0SECRET/B0SECRET/xoxb-webhook-token-55aa"


def hostile(snapshot: list[dict]) -> list[dict]:
    records = [dict(r) for r in snapshot[:200]]
    records[0].update(country="../../etc", state_province="passwd", state="passwd")
    records[1].update(country="country=x", state_province="x/../../y", state="x/../../y")
    records[2].update(name="country=x/state=y", state_province="..", state="..")
    return records


def set_env(monkeypatch, root: Path, api_url: str, webhook_url: str) -> None:
    pipeline_env(
        monkeypatch,
        root,
        api_url,
        BREWERIES_PSEUDONYMIZATION_KEY=SECRET_KEY,
        BREWERIES_WEBHOOK_URL=webhook_url,
    )


def all_files(root: Path) -> list[Path]:
    return [Path(dirpath) / f for dirpath, _, files in os.walk(root) for f in files]


def test_partition_values_from_the_api_cannot_escape_the_table(
    tmp_path, monkeypatch, replay_of, snapshot, spark
):
    outside = tmp_path / "outside"
    root = tmp_path / "store" / "root"
    set_env(monkeypatch, root, replay_of(hostile(snapshot)).url, "http://127.0.0.1:9/hook")
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK
    # Everything written stays under the storage root: no ../../etc, no extra state= level.
    assert all(path.resolve().is_relative_to(root.resolve()) for path in all_files(tmp_path / "store"))
    assert not outside.exists() and not (tmp_path / "etc").exists()
    # Iceberg escapes partition values in its file paths (and keeps the values in its metadata).
    silver_root = root / "silver" / "breweries" / "data" / f"snapshot_date={RUN_DATE}"
    partition_dirs = {p.name for p in silver_root.iterdir() if p.is_dir()}
    assert "country=..%2F..%2Fetc" in partition_dirs and "country=country%3Dx" in partition_dirs
    # The values come back exactly as the API sent them.
    silver = published(spark, Settings(storage_root=str(root)), SILVER, date.fromisoformat(RUN_DATE))
    rows = {
        r["country"]: r["state"]
        for r in silver.where(F.col("country").isin("../../etc", "country=x")).collect()
    }
    assert rows == {"../../etc": "passwd", "country=x": "x/../../y"}
    named = silver.where(F.col("name") == "country=x/state=y").select("state").collect()
    assert [r["state"] for r in named] == [".."]


def test_no_secret_appears_in_logs_reports_or_state(
    tmp_path, monkeypatch, replay_of, snapshot, webhook, capfd
):
    webhook_url = webhook.url.replace("secret-token", SECRET_TOKEN)
    good, failed = tmp_path / "good", tmp_path / "failed"
    set_env(monkeypatch, good, replay_of(snapshot[:300]).url, webhook_url)
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK
    # A failed run takes the notification path too: an empty source fails the quality gate.
    set_env(monkeypatch, failed, replay_of([]).url, webhook_url)
    assert main(["run", "--date", RUN_DATE]) == DataQualityError.exit_code
    assert len(webhook.messages) == 1  # it did reach the webhook
    output = capfd.readouterr()
    # State records, the quality report, manifests, bronze pages; the tables' metadata, their data
    # files and the catalog's database (snapshot summaries and table properties are in there).
    suffixes = (".json", ".txt", ".log", ".avro", ".parquet", ".db")
    written = [p.read_bytes() for p in all_files(tmp_path) if p.suffix in suffixes]
    assert {".json", ".avro", ".parquet", ".db"} <= {p.suffix for p in all_files(tmp_path)}
    for secret in (SECRET_KEY, SECRET_TOKEN, "xoxb-webhook-token"):
        assert secret not in output.out and secret not in output.err
        assert not any(secret.encode() in content for content in written)
        assert secret not in str(webhook.messages)
