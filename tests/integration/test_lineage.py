"""OpenLineage events of a local run: START and COMPLETE per stage, each naming the tables it read
and wrote at their Iceberg snapshots, all under one parent run; a lineage endpoint that is down
changes nothing but one warning line."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from tests.integration.lake_reads import main_snapshot, published
from tests.integration.pipeline_env import pipeline_env

from breweries.cli import main
from breweries.errors import EXIT_OK, ApiError
from breweries.lake.catalog import catalog_uri
from breweries.lineage import TIMEOUT_SECONDS
from breweries.pipeline import STAGE_NAMES, TABLES
from breweries.settings import Settings

RUN_DATE = "2026-01-01"
RECORDS = 200


def _state(root: Path, stage: str) -> dict:
    return json.loads((root / "_state" / stage / f"run_date={RUN_DATE}.json").read_text())


def _names(datasets: list[dict]) -> set[str]:
    return {d["name"] for d in datasets}


def _versions(datasets: list[dict]) -> dict[str, int]:
    return {d["name"]: int(d["facets"]["version"]["datasetVersion"]) for d in datasets if "." in d["name"]}


@pytest.mark.slow
def test_a_run_sends_start_and_complete_per_stage_with_its_tables_and_one_parent(
    tmp_path, monkeypatch, replay_of, snapshot, spark, webhook
):
    root = tmp_path / "root"
    replay = replay_of(snapshot[:RECORDS])
    # A server's base URL, as Marquez's is given: events go to the OpenLineage API's path.
    lineage_url = f"http://127.0.0.1:{webhook.server_address[1]}"
    pipeline_env(monkeypatch, root, replay.url, BREWERIES_LINEAGE_URL=lineage_url)
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK

    events = webhook.messages
    assert set(webhook.paths) == {"/api/v1/lineage"}
    by_stage: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        assert event["job"]["namespace"] == "breweries"
        by_stage[event["job"]["name"]].append(event)
    assert list(by_stage) == list(STAGE_NAMES)
    for stage, (start, complete, *more) in by_stage.items():
        assert [start["eventType"], complete["eventType"], *more] == ["START", "COMPLETE"], stage
        assert start["run"]["runId"] == complete["run"]["runId"]
    assert len({e["run"]["runId"] for e in events}) == len(STAGE_NAMES)
    # One parent for the whole run: a local run makes its own id (a workflow passes its uid).
    parents = {
        (e["run"]["facets"]["parent"]["run"]["runId"], e["run"]["facets"]["parent"]["job"]["name"])
        for e in events
    }
    assert len(parents) == 1
    uuid.UUID(next(iter(parents))[0])

    complete = {stage: by_stage[stage][1] for stage in STAGE_NAMES}
    bronze = str(root / "bronze" / "breweries")
    api = complete["bronze"]["inputs"][0]
    assert (api["namespace"], api["name"]) == (replay.url.removesuffix("/v1"), "/v1/breweries")
    expected = {
        "bronze": ({"/v1/breweries"}, {bronze}),
        "silver": ({bronze}, {"silver.breweries", "silver.quarantine"}),
        "quality": (
            {bronze, "silver.breweries", "silver.quarantine"},
            {"silver.quality_checks", "silver.breweries", "silver.quarantine", bronze},
        ),
        "silver_anonymized": ({"silver.breweries"}, {"silver_anonymized.breweries"}),
        "gold": ({"silver_anonymized.breweries"}, {"gold.breweries_by_type_location"}),
    }
    for stage, (inputs, outputs) in expected.items():
        for event in by_stage[stage]:
            assert (_names(event["inputs"]), _names(event["outputs"])) == (inputs, outputs), stage

    settings = Settings(storage_root=str(root))
    for dataset in (d for e in events for d in e["inputs"] + e["outputs"] if "." in d["name"]):
        assert dataset["namespace"] == catalog_uri(settings)
    # Each stage's outputs at the snapshots its record holds, and the tables' main is at them now.
    for stage in STAGE_NAMES:
        assert _versions(complete[stage]["outputs"]) == _state(root, stage)["snapshots"], stage
    for table in TABLES:
        writes = [s for s in STAGE_NAMES if table.identifier in _versions(complete[s]["outputs"])]
        assert _versions(complete[writes[-1]]["outputs"])[table.identifier] == main_snapshot(
            spark, settings, table
        )
    # A stage read what the stage before it left: quality the audited snapshots, later stages main.
    assert _versions(complete["quality"]["inputs"]) == _state(root, "silver")["snapshots"]
    assert _versions(complete["silver_anonymized"]["inputs"]) == {
        "silver.breweries": _versions(complete["quality"]["outputs"])["silver.breweries"]
    }
    assert _versions(complete["gold"]["inputs"]) == _versions(complete["silver_anonymized"]["outputs"])
    # Row counts: what each commit holds for the date.
    rows = {
        d["name"]: d["outputFacets"]["outputStatistics"]["rowCount"]
        for stage in STAGE_NAMES
        for d in complete[stage]["outputs"]
        if "outputStatistics" in d.get("outputFacets", {})
    }
    assert rows[bronze] == RECORDS
    for table in TABLES:
        assert rows[table.identifier] == published(spark, settings, table, RUN_DATE).count(), table
    # START names what will be written, not yet at which snapshot.
    assert all("version" not in d["facets"] for s in STAGE_NAMES for d in by_stage[s][0]["outputs"])


def test_a_file_destination_gets_one_event_a_line_under_the_workflows_parent(
    tmp_path, monkeypatch, replay_of, snapshot
):
    # As in a cluster: the workflow's uid is the parent. Bronze alone needs no Spark.
    workflow_uid = "0b7d2c1e-5f3a-4c8e-9a61-2d4f6b8e0c13"
    destination = tmp_path / "lineage" / "events.jsonl"
    pipeline_env(
        monkeypatch,
        tmp_path / "root",
        replay_of(snapshot[:RECORDS]).url,
        BREWERIES_LINEAGE_URL=str(destination),
        BREWERIES_LINEAGE_PARENT_RUN_ID=workflow_uid,
    )
    assert main(["run", "--date", RUN_DATE, "--stages", "bronze"]) == EXIT_OK
    events = [json.loads(line) for line in destination.read_text().splitlines()]
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("bronze", "START"),
        ("bronze", "COMPLETE"),
    ]
    assert {e["run"]["facets"]["parent"]["run"]["runId"] for e in events} == {workflow_uid}
    crawl = events[1]["outputs"][0]
    assert crawl["facets"]["version"]["datasetVersion"] == _state(tmp_path / "root", "bronze")["run_id"]
    assert crawl["outputFacets"]["outputStatistics"]["rowCount"] == RECORDS


@pytest.mark.faults
def test_a_stage_that_fails_sends_fail_with_its_error(tmp_path, monkeypatch):
    destination = tmp_path / "events.jsonl"
    api = f"http://127.0.0.1:{_closed_port()}/v1"
    pipeline_env(monkeypatch, tmp_path / "root", api, BREWERIES_LINEAGE_URL=f"file://{destination}")
    assert main(["run", "--date", RUN_DATE]) == ApiError.exit_code
    events = [json.loads(line) for line in destination.read_text().splitlines()]
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [("bronze", "START"), ("bronze", "FAIL")]
    assert api.removesuffix("/v1") in events[1]["run"]["facets"]["errorMessage"]["message"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.faults
def test_a_lineage_endpoint_that_is_down_changes_nothing_but_one_warning_line(
    tmp_path, monkeypatch, replay_of, snapshot, spark, capfd
):
    root = tmp_path / "root"
    down = f"http://127.0.0.1:{_closed_port()}/api/v1/lineage"
    pipeline_env(monkeypatch, root, replay_of(snapshot[:RECORDS]).url, BREWERIES_LINEAGE_URL=down)
    assert main(["run", "--date", RUN_DATE]) == EXIT_OK
    assert all(_state(root, stage) for stage in STAGE_NAMES)
    err = capfd.readouterr().err
    # The only warning of the run, and nothing else says a word of lineage.
    warnings = [line for line in err.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and err.count("OpenLineage") == 1, err
    assert f"could not send OpenLineage events to {down} (cannot connect)" in warnings[0]


@pytest.mark.faults
def test_an_endpoint_that_never_answers_costs_one_short_timeout(tmp_path, monkeypatch, replay_of, snapshot):
    # A listener that accepts connections and never answers: each event would wait its timeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        pipeline_env(monkeypatch, tmp_path, replay_of(snapshot[:RECORDS]).url, BREWERIES_LINEAGE_URL=url)
        started = time.monotonic()
        assert main(["run", "--date", RUN_DATE, "--stages", "bronze"]) == EXIT_OK
        elapsed = time.monotonic() - started
    assert _state(tmp_path, "bronze")["rows_out"] == RECORDS
    # START waited its timeout; COMPLETE was not tried. The crawl itself takes well under a second.
    assert TIMEOUT_SECONDS <= elapsed < 2 * TIMEOUT_SECONDS
