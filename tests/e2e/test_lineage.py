"""OpenLineage from the cluster's drivers: each stage of a workflow run sends START and COMPLETE,
naming the tables it read and wrote at the snapshots the catalog holds, all under the Argo
workflow's uid as their parent run. The events go to the e2e fixtures' sink
(tests/e2e/manifests/fixtures.yaml), set as the chart's `pipeline.lineageUrl`."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

import pytest
from tests.e2e.cluster import (
    SINK,
    Workflow,
    apply_fixtures,
    chart_catalog,
    chart_minio,
    point_the_chart_at,
    submit,
    unavailable,
    webhook_messages,
)

from breweries.pipeline import STAGE_NAMES, TABLES

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "")]

# A date of its own, forced: every stage runs and sends its events, however often the test runs.
RUN_DATE = "2026-06-11"
# The sink keeps whatever is posted to it, on any path (a URL with a path is used as given).
LINEAGE_URL = f"http://{SINK}:8080/api/v1/lineage"
GOLD = "gold.breweries_by_type_location"


@pytest.fixture(scope="module")
def lineage_run() -> Iterator[tuple[Workflow, list[dict]]]:
    apply_fixtures()
    point_the_chart_at(None, "--set", f"pipeline.lineageUrl={LINEAGE_URL}")
    try:
        sent_before = len(webhook_messages())
        workflow = submit(
            "--from", "workflowtemplate/breweries", "-p", f"run-date={RUN_DATE}", "-p", "force=true"
        )  # fmt: skip
        workflow.wait()
        events = [m for m in webhook_messages()[sent_before:] if "eventType" in m]
        yield workflow, events
    finally:
        point_the_chart_at(None, "--set", "pipeline.lineageUrl=")


def versions(datasets: list[dict]) -> dict[str, int]:
    """The tables among ``datasets``, at the snapshot each names."""
    return {
        d["name"]: int(d["facets"]["version"]["datasetVersion"])
        for d in datasets
        if "version" in d.get("facets", {})
    }


def test_each_stage_sends_start_and_complete_under_the_workflows_uid_with_the_catalogs_snapshots(
    lineage_run,
) -> None:
    workflow, events = lineage_run
    status = workflow.get()
    assert status["status"]["phase"] == "Succeeded", status["status"].get("message")
    by_stage: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        by_stage[event["job"]["name"]].append(event)
    print(json.dumps({s: [e["eventType"] for e in by_stage[s]] for s in by_stage}))  # for the record
    assert list(by_stage) == list(STAGE_NAMES)
    for stage, stage_events in by_stage.items():
        assert [e["eventType"] for e in stage_events] == ["START", "COMPLETE"], stage
        assert len({e["run"]["runId"] for e in stage_events}) == 1, stage
    # One parent for the whole run: the Argo workflow, by its uid.
    parents = {e["run"]["facets"]["parent"]["run"]["runId"] for e in events}
    assert parents == {status["metadata"]["uid"]}
    assert all(e["run"]["facets"]["nominalTime"]["nominalStartTime"].startswith(RUN_DATE) for e in events)

    complete = {stage: by_stage[stage][1] for stage in STAGE_NAMES}
    # Read through the catalog, with no project code: each table's main is at the snapshot its
    # last writer's COMPLETE names, and gold's row count is the date's rows there.
    lake = chart_catalog(chart_minio())
    for table in TABLES:
        writers = [s for s in STAGE_NAMES if table.identifier in versions(complete[s]["outputs"])]
        assert writers, table.identifier
        named = versions(complete[writers[-1]]["outputs"])[table.identifier]
        assert lake.load_table(table.identifier).current_snapshot().snapshot_id == named, table.identifier
    (gold,) = [d for d in complete["gold"]["outputs"] if d["name"] == GOLD]
    rows = lake.load_table(GOLD).scan(row_filter=f"snapshot_date == '{RUN_DATE}'").to_arrow().num_rows
    assert gold["outputFacets"]["outputStatistics"]["rowCount"] == rows
    # Each stage read what the one before it left.
    assert versions(complete["gold"]["inputs"]) == versions(complete["silver_anonymized"]["outputs"])
    assert versions(complete["silver_anonymized"]["inputs"]) == {
        "silver.breweries": versions(complete["quality"]["outputs"])["silver.breweries"]
    }
