"""The whole pipeline, locally: `breweries run` against the API replay into a temporary folder."""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import requests
from chispa import assert_df_equality
from tests.integration.pipeline_env import pipeline_env

from breweries.api.replay import bundled_snapshot_path
from breweries.cli import main
from breweries.errors import EXIT_OK, ApiError, DataQualityError, MissingUpstreamError
from breweries.lake.commits import Lake
from breweries.logs import LOGGER_NAME
from breweries.pipeline import STAGE_NAMES
from breweries.settings import Settings
from breweries.stages.gold import GOLD
from breweries.stages.silver import SILVER
from breweries.stages.silver_anonymized import SILVER_ANONYMIZED

RUN_DATE = "2026-01-01"
RUN_DAY = date.fromisoformat(RUN_DATE)


def state_record(root: Path, stage: str) -> dict | None:
    path = root / "_state" / stage / f"run_date={RUN_DATE}.json"
    return json.loads(path.read_text()) if path.exists() else None


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, spark, snapshot):
    """One run of every stage on the full snapshot, shared by the tests that inspect it."""
    from breweries.api.replay import ReplayServer, ReplayState

    root = tmp_path_factory.mktemp("full-run")
    # A module-scoped patch: the autouse fixture that clears BREWERIES_* is function-scoped.
    with pytest.MonkeyPatch.context() as monkeypatch, ReplayServer(ReplayState(snapshot)) as replay:
        pipeline_env(monkeypatch, root, replay.url)
        assert main(["run", "--date", RUN_DATE]) == EXIT_OK
        yield root, replay


def test_run_writes_the_documented_layout(full_run):
    root, _ = full_run
    bronze = root / "bronze" / "breweries" / f"ingest_date={RUN_DATE}"
    assert sorted(p.name for p in bronze.iterdir()) == ["_manifest.json"] + [
        f"page={n:04d}.json" for n in range(1, 61)
    ]
    assert (root / "_catalog" / "iceberg.db").is_file()
    silver = root / "silver" / "breweries" / "data" / f"snapshot_date={RUN_DATE}"
    assert (silver / "country=Germany" / "state=Bayern").is_dir()
    partitions = [p for p in silver.glob("country=*/state=*") if p.is_dir()]
    # One Parquet file per partition: no small-file explosion.
    assert partitions and all(len(list(p.glob("*.parquet"))) == 1 for p in partitions)
    assert (root / "silver" / "_quality" / f"snapshot_date={RUN_DATE}" / "report.json").is_file()
    anonymized = root / "silver_anonymized" / "breweries" / "data" / f"snapshot_date={RUN_DATE}"
    assert sorted(p.relative_to(anonymized) for p in anonymized.glob("country=*/state=*")) == sorted(
        p.relative_to(silver) for p in partitions
    )
    assert all(len(list(p.glob("*.parquet"))) == 1 for p in anonymized.glob("country=*/state=*"))
    gold = root / "gold" / "breweries_by_type_location" / "data" / f"snapshot_date={RUN_DATE}"
    assert all(len(list(p.glob("*.parquet"))) == 1 for p in gold.glob("country=*"))
    assert all(state_record(root, stage) for stage in STAGE_NAMES)
    assert not list(root.rglob("_staging")) and not list(root.rglob("_candidates/*"))
    # Nor a checksum file beside each file the tables wrote (breweries.spark).
    assert not list(root.rglob("*.crc"))


def test_bronze_keeps_the_api_responses_byte_for_byte(full_run):
    root, replay = full_run
    bronze = root / "bronze" / "breweries" / f"ingest_date={RUN_DATE}"
    manifest = json.loads((bronze / "_manifest.json").read_text())
    assert manifest["meta_total"] == manifest["record_count"] == 11822
    assert manifest["api_url"] == replay.url and manifest["sort"] == "id:asc"
    served = requests.get(
        f"{replay.url}/breweries", params={"page": 7, "per_page": 200, "sort": "id:asc"}, timeout=10
    )
    assert (bronze / "page=0007.json").read_bytes() == served.content
    import hashlib

    assert all(
        hashlib.sha256((bronze / p["file"]).read_bytes()).hexdigest() == p["sha256"]
        for p in manifest["pages"]
    )


def test_gold_counts_equal_an_independent_count_of_the_snapshot(full_run, spark):
    root, _ = full_run
    # Counted straight from the bundled CSV, not through the replay or any pipeline code.
    rows = csv.DictReader(io.StringIO(gzip.decompress(bundled_snapshot_path().read_bytes()).decode()))
    expected = Counter((r["country"], r["state_province"], r["brewery_type"]) for r in rows)
    gold = Lake(spark, Settings(storage_root=str(root))).read(GOLD, RUN_DAY)
    actual = {(r.country, r.state, r.brewery_type): r.brewery_count for r in gold.collect()}
    assert actual == dict(expected)
    assert sum(actual.values()) == 11822


def test_anonymized_silver_holds_no_raw_name_or_phone(full_run, spark):
    root, _ = full_run
    lake = Lake(spark, Settings(storage_root=str(root)))
    silver, anonymized = lake.read(SILVER, RUN_DAY), lake.read(SILVER_ANONYMIZED, RUN_DAY)
    raw = {v for r in silver.select("name", "phone").collect() for v in r if v}
    tokens = {v for r in anonymized.select("name", "phone").collect() for v in r if v}
    assert raw and tokens and not raw & tokens
    assert anonymized.filter("phone is null").count() == silver.filter("phone is null").count() == 1319


def test_a_rerun_skips_finished_stages(full_run, monkeypatch, capfd):
    root, replay = full_run
    pipeline_env(monkeypatch, root, replay.url)
    before = {stage: state_record(root, stage) for stage in STAGE_NAMES}
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK
    assert {stage: state_record(root, stage) for stage in STAGE_NAMES} == before
    assert capfd.readouterr().err.count("already done for this date: skipped") == len(STAGE_NAMES)


@pytest.mark.slow
def test_force_rebuilds_every_stage_with_identical_output(full_run, monkeypatch, spark):
    root, replay = full_run
    pipeline_env(monkeypatch, root, replay.url)

    def snapshot_of_outputs():
        lake = Lake(spark, Settings(storage_root=str(root)))
        silver = lake.read(SILVER, RUN_DAY).drop("fetched_at")
        return silver.localCheckpoint(), lake.read(GOLD, RUN_DAY).localCheckpoint()

    silver_before, gold_before = snapshot_of_outputs()
    finished_before = state_record(root, "gold")["finished_at"]
    assert main(["run", "--date", RUN_DATE, "--force"]) == EXIT_OK
    silver_after, gold_after = snapshot_of_outputs()
    assert state_record(root, "gold")["finished_at"] != finished_before
    assert_df_equality(silver_after, silver_before, ignore_row_order=True)
    assert_df_equality(gold_after, gold_before, ignore_row_order=True)


def test_status_shows_each_stage_of_the_date(full_run, monkeypatch, capsys):
    root, replay = full_run
    pipeline_env(monkeypatch, root, replay.url)
    assert main(["status", "--date", RUN_DATE]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["stage", "run_date"]
    assert [line.split()[0] for line in lines[1:]] == list(STAGE_NAMES)
    assert lines[1].split()[1] == RUN_DATE and "11822" in lines[1].split()
    gold_snapshot = state_record(root, "gold")["snapshots"][GOLD.identifier]
    assert lines[-1].split()[-1] == f"{GOLD.identifier}@{gold_snapshot}"


def test_tables_lists_every_table_with_its_current_snapshot(full_run, monkeypatch, capsys):
    root, replay = full_run
    pipeline_env(monkeypatch, root, replay.url)
    assert main(["tables", "--format", "json"]) == EXIT_OK
    tables = {t["identifier"]: t for t in json.loads(capsys.readouterr().out)}
    assert list(tables) == [
        "silver.breweries",
        "silver.quarantine",
        "silver.quality_checks",
        "silver_anonymized.breweries",
        "gold.breweries_by_type_location",
    ]
    gold = tables["gold.breweries_by_type_location"]
    assert gold["snapshot_id"] == state_record(root, "gold")["snapshots"][GOLD.identifier]
    assert Path(gold["metadata_location"].removeprefix("file:")).is_file()
    assert tables["silver.breweries"]["rows"] == 11822 and tables["silver.quality_checks"]["rows"] == 8


def test_sql_answers_on_gold_without_a_jvm(full_run, monkeypatch, capsys, snapshot):
    root, replay = full_run
    pipeline_env(monkeypatch, root, replay.url)
    query = (
        "SELECT brewery_count FROM gold.breweries_by_type_location "
        f"WHERE snapshot_date = DATE '{RUN_DATE}' AND state = 'Oregon' AND brewery_type = 'micro'"
    )
    assert main(["sql", "--format", "json", query]) == EXIT_OK
    expected = sum(1 for r in snapshot if r["state_province"] == "Oregon" and r["brewery_type"] == "micro")
    assert json.loads(capsys.readouterr().out) == [{"brewery_count": expected}]
    assert (
        main(["sql", "--format", "csv", "SELECT count(*) AS n FROM silver_anonymized.breweries"]) == EXIT_OK
    )
    assert capsys.readouterr().out.splitlines() == ["n", "11822"]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("SELEC count(*) FROM gold.breweries_by_type_location", 'syntax error at or near "SELEC"'),
        ("SELECT * FROM gold.no_such_table", "Table with name no_such_table does not exist"),
    ],
)
def test_a_bad_query_is_one_short_error_with_exit_2(full_run, monkeypatch, capfd, query, says):
    root, replay = full_run
    pipeline_env(monkeypatch, root, replay.url)
    assert main(["sql", query]) == 2
    err = capfd.readouterr().err
    assert says in err and "LINE 1" in err and "Traceback" not in err


def test_an_empty_source_fails_the_quality_gate_before_gold_and_notifies(
    tmp_path, monkeypatch, replay_of, webhook, spark
):
    pipeline_env(monkeypatch, tmp_path, replay_of([]).url, BREWERIES_WEBHOOK_URL=webhook.url)
    assert main(["run", "--date", RUN_DATE]) == DataQualityError.exit_code
    report = json.loads(
        (tmp_path / "silver" / "_quality" / f"snapshot_date={RUN_DATE}" / "report.json").read_text()
    )
    assert report["status"] == "failed"
    assert [c["name"] for c in report["checks"] if not c["passed"]] == ["table_not_empty"]
    assert not (tmp_path / "gold").exists() and state_record(tmp_path, "gold") is None
    # Silver was audited and never published: main holds nothing for the date.
    assert Lake(spark, Settings(storage_root=str(tmp_path))).read(SILVER, RUN_DAY).count() == 0
    assert state_record(tmp_path, "quality") is None and state_record(tmp_path, "silver") is not None
    (message,) = webhook.messages  # a quality failure is not retried: one message
    assert message["status"] == "failed" and message["stage"] == "quality" and message["run_date"] == RUN_DATE
    assert "table_not_empty" in message["error"] and "table_not_empty" in message["text"]
    assert message["failed_checks"][0]["name"] == "table_not_empty"


def test_a_stage_without_its_input_names_the_missing_stage_and_date(tmp_path, monkeypatch, capfd):
    pipeline_env(monkeypatch, tmp_path, "http://127.0.0.1:9/v1")
    assert main(["run", "--date", RUN_DATE, "--stages", "gold"]) == MissingUpstreamError.exit_code
    assert f"gold needs quality for {RUN_DATE}, which was never recorded as done" in capfd.readouterr().err


def in_the_way_of_bronze(root: Path) -> Path:
    """A file where bronze builds its pages (its ``_staging`` folder): storing them fails with an
    OSError, a failure the runner retries, for as long as the file is there."""
    blocker = root / "bronze" / "breweries" / "_staging"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("")
    return blocker


class RemovedOnTheFirstRetry(logging.Filter):
    """Sees every record of the pipeline's logger; removes ``path`` when the runner says it retries."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("attempt 1 failed, retrying"):
            self.path.unlink()
        return True


def test_a_transient_failure_is_retried_locally_then_succeeds(
    tmp_path, monkeypatch, replay_of, snapshot, webhook
):
    remover = RemovedOnTheFirstRetry(in_the_way_of_bronze(tmp_path))
    pipeline_env(monkeypatch, tmp_path, replay_of(snapshot[:300]).url, BREWERIES_WEBHOOK_URL=webhook.url)
    logging.getLogger(LOGGER_NAME).addFilter(remover)  # a filter, unlike a handler, outlives main's setup
    try:
        assert main(["run", "--date", RUN_DATE, "--stages", "bronze"]) == EXIT_OK
    finally:
        logging.getLogger(LOGGER_NAME).removeFilter(remover)
    assert not remover.path.exists()  # the stage did fail once
    assert state_record(tmp_path, "bronze")["rows_out"] == 300 and webhook.messages == []


def test_a_persistent_failure_uses_every_retry_then_notifies(
    tmp_path, monkeypatch, replay_of, snapshot, webhook
):
    in_the_way_of_bronze(tmp_path)
    server = replay_of(snapshot[:10])
    pipeline_env(monkeypatch, tmp_path, server.url, BREWERIES_WEBHOOK_URL=webhook.url)
    assert main(["run", "--date", RUN_DATE, "--stages", "bronze"]) == 1
    assert server.state.requests == 4 * 3  # meta, the page, meta: in 1 attempt + 3 retries, as in the cluster
    (message,) = webhook.messages
    assert message["stage"] == "bronze" and "Not a directory" in message["error"]
    assert not (tmp_path / "bronze" / "breweries" / f"ingest_date={RUN_DATE}").exists()


def test_an_api_failure_the_client_gave_up_on_is_not_run_again_and_notifies_once(
    tmp_path, monkeypatch, replay_of, snapshot, webhook
):
    from breweries.api.replay import Fault

    server = replay_of(snapshot[:10], [Fault("status", target="meta", status=500, times=0)])
    pipeline_env(
        monkeypatch, tmp_path, server.url, BREWERIES_HTTP_MAX_ATTEMPTS="3", BREWERIES_WEBHOOK_URL=webhook.url
    )
    assert main(["run", "--date", RUN_DATE, "--stages", "bronze"]) == ApiError.exit_code
    assert server.state.requests == 3  # the client's own attempts; the runner does not start bronze again
    (message,) = webhook.messages
    assert message["stage"] == "bronze" and "failed after 3 attempts: HTTP 500" in message["error"]
    assert state_record(tmp_path, "bronze") is None


def test_a_failing_webhook_never_hides_the_pipeline_error(tmp_path, monkeypatch, replay_of, snapshot, capfd):
    from breweries.api.replay import Fault

    server = replay_of(snapshot[:10], [Fault("status", target="meta", status=500, times=0)])
    secret_url = "http://127.0.0.1:9/hooks/do-not-log-me"  # nothing listens on port 9
    pipeline_env(
        monkeypatch,
        tmp_path,
        server.url,
        BREWERIES_HTTP_MAX_ATTEMPTS="1",
        BREWERIES_STAGE_RETRIES="0",
        BREWERIES_WEBHOOK_URL=secret_url,
    )
    assert main(["run", "--date", RUN_DATE, "--stages", "bronze"]) == ApiError.exit_code
    err = capfd.readouterr().err
    assert "stage bronze failed" in err and "could not notify the webhook" in err
    assert "do-not-log-me" not in err
