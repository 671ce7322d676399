"""OpenLineage from the cluster's drivers: each stage of a workflow run sends START and COMPLETE,
naming the tables it read and wrote at the snapshots the catalog holds, all under the Argo
workflow's uid as their parent run. The events go to the e2e fixtures' sink
(tests/e2e/manifests/fixtures.yaml), set as the chart's `pipeline.lineageUrl`."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

import pytest
from pyiceberg.table.snapshots import ancestors_of
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
from breweries.stages.gold import GOLD

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "")]

# A date of its own, forced: every stage runs and sends its events, however often the test runs.
RUN_DATE = "2026-06-11"
# The sink keeps whatever is posted to it, on any path (a URL with a path is used as given).
LINEAGE_URL = f"http://{SINK}:8080/api/v1/lineage"


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
    """The tables among ``datasets`` (not bronze's crawl: its version is its run), at their snapshots."""
    tables = {table.identifier for table in TABLES}
    return {
        d["name"]: int(d["facets"]["version"]["datasetVersion"])
        for d in datasets
        if d["name"] in tables and "version" in d.get("facets", {})
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
    # Read through the catalog, with no project code: the snapshot each table's last writer names is
    # one main published (later runs of other dates may have moved main on since), and gold's row
    # count is the date's rows in it.
    lake = chart_catalog(chart_minio())
    for table in TABLES:
        writers = [s for s in STAGE_NAMES if table.identifier in versions(complete[s]["outputs"])]
        assert writers, table.identifier
        named = versions(complete[writers[-1]]["outputs"])[table.identifier]
        loaded = lake.load_table(table.identifier)
        published = {s.snapshot_id for s in ancestors_of(loaded.current_snapshot(), loaded.metadata)}
        assert named in published, table.identifier
    (gold,) = [d for d in complete["gold"]["outputs"] if d["name"] == GOLD.identifier]
    at_gold = versions([gold])[GOLD.identifier]
    scan = lake.load_table(GOLD.identifier).scan(
        row_filter=f"snapshot_date == '{RUN_DATE}'", snapshot_id=at_gold
    )
    assert gold["outputFacets"]["outputStatistics"]["rowCount"] == scan.to_arrow().num_rows > 0
    # Each stage read what the one before it left.
    assert versions(complete["gold"]["inputs"]) == versions(complete["silver_anonymized"]["outputs"])
    assert versions(complete["silver_anonymized"]["inputs"]) == {
        "silver.breweries": versions(complete["quality"]["outputs"])["silver.breweries"]
    }
