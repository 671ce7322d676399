"""OpenLineage's events of a stage run, built with its Python client.

Datasets: a table is named by its catalog identifier (``silver.breweries``) in the namespace of its
catalog, with its snapshot as the dataset version and the run date's rows as its output statistics;
bronze's crawl and the API are named by location (OpenLineage's naming for files and URLs).

Only :class:`breweries.lineage.Lineage` imports this module, and only when a run sends events:
OpenLineage's client takes a fifth of a second to import, which every run would pay otherwise.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    OutputDatasetFacet,
    RunFacet,
    dataset_version_dataset,
    error_message_run,
    nominal_time_run,
    output_statistics_output_dataset,
    parent_run,
)
from openlineage.client.transport import Transport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.uuid import generate_new_uuid

from breweries import __version__
from breweries.lake.catalog import catalog_uri
from breweries.layout import Layout
from breweries.pipeline import stage as stage_named
from breweries.settings import Settings
from breweries.stages.base import StageContext
from breweries.state import StageRun
from breweries.storage import split_s3

JOB_NAMESPACE = "breweries"  # the jobs' namespace: each stage is a job named after it
PARENT_JOB = "pipeline"  # the job of the parent run (the Argo workflow, or a local `breweries run`)
PRODUCER = f"urn:breweries:{__version__}"
# The OpenLineage HTTP API's path, where Marquez and other servers take events.
DEFAULT_ENDPOINT = "api/v1/lineage"


def new_run_id() -> str:
    return str(generate_new_uuid())


def connect(url: str, timeout_seconds: float) -> OpenLineageClient:
    """A client that sends to ``url`` (HTTP, or a file of JSON lines), without retries."""
    # The client's own log lines would repeat the warning of breweries.lineage, once per event.
    logging.getLogger("openlineage").setLevel(logging.CRITICAL)
    return OpenLineageClient(transport=_transport(url, timeout_seconds))


def run_event(
    state: str,
    ctx: StageContext,
    upstream: Mapping[str, StageRun],
    run_id: str,
    parent_run_id: str,
    outputs: list[OutputDataset],
    error: str | None = None,
) -> RunEvent:
    """One event of a stage run (START, COMPLETE or FAIL), under the pipeline run ``parent_run_id``."""
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent_run_id),
        job=parent_run.Job(namespace=JOB_NAMESPACE, name=PARENT_JOB),
    )
    # The date the stage builds, which a backfill runs long after.
    nominal = nominal_time_run.NominalTimeRunFacet(nominalStartTime=f"{ctx.run_date.isoformat()}T00:00:00Z")
    facets: dict[str, RunFacet] = {"parent": parent, "nominalTime": nominal}
    if error is not None:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python"
        )
    return RunEvent(
        eventType=RunState(state),
        eventTime=datetime.now(timezone.utc).isoformat(),
        run=Run(runId=run_id, facets=facets),
        job=Job(namespace=JOB_NAMESPACE, name=ctx.stage.name),
        producer=PRODUCER,
        inputs=_inputs(ctx, upstream),
        outputs=outputs,
    )


def _transport(url: str, timeout_seconds: float) -> Transport:
    if url.startswith(("http://", "https://")):
        parts = urlsplit(url)
        endpoint = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
        no_retries = {"total": 0, "connect": 0, "read": 0, "status": 0}
        config = HttpConfig(
            url=f"{parts.scheme}://{parts.netloc}",
            endpoint=endpoint or DEFAULT_ENDPOINT,
            timeout=timeout_seconds,
            retry=no_retries,
        )
        return HttpTransport(config)
    path = Path(url.removeprefix("file://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileTransport(FileConfig(log_file_path=str(path), append=True))


def _inputs(ctx: StageContext, upstream: Mapping[str, StageRun]) -> list[InputDataset]:
    datasets: list[_Dataset] = []
    if not ctx.stage.upstream:  # the first stage crawls the source
        api = urlsplit(ctx.settings.api_url)
        datasets.append(_Dataset(f"{api.scheme}://{api.netloc}", f"{api.path}/breweries"))
    if "bronze" in upstream:
        datasets.append(_bronze(ctx.settings, upstream["bronze"].run_id))
    for table in ctx.stage.reads:
        # What it read: the audited snapshot it checks, else the one its upstream left the date at.
        snapshot = ctx.audited_snapshots.get(table.identifier) or next(
            (r.snapshots[table.identifier] for r in upstream.values() if table.identifier in r.snapshots),
            None,
        )
        datasets.append(_table(ctx.settings, table.identifier, snapshot))
    return [d.as_input() for d in datasets]


def planned_outputs(ctx: StageContext, upstream: Mapping[str, StageRun]) -> list[OutputDataset]:
    """What the stage will write, before it has: no snapshots, no counts."""
    tables = [t.identifier for t in ctx.stage.writes]
    tables += [t for name in ctx.stage.publishes for t in upstream[name].snapshots]
    datasets = [_table(ctx.settings, t, None).as_output() for t in tables]
    if _writes_bronze(ctx):
        datasets.append(_bronze(ctx.settings, None).as_output())
    return datasets


def outputs(ctx: StageContext, upstream: Mapping[str, StageRun], run: StageRun) -> list[OutputDataset]:
    """What the stage committed: each table at its new snapshot, with the run date's rows there."""
    datasets = []
    for identifier, snapshot in run.snapshots.items():
        commit = ctx.commits.get(identifier)  # a table it published has no commit of its own
        rows = commit.rows if commit is not None else None
        datasets.append(_table(ctx.settings, identifier, snapshot).as_output(rows))
    if _writes_bronze(ctx):
        # The crawl this run wrote (the first stage), or the one it published (the gate).
        if not ctx.stage.upstream:
            datasets.append(_bronze(ctx.settings, run.run_id).as_output(run.rows_out))
        else:
            datasets.append(_bronze(ctx.settings, upstream["bronze"].run_id).as_output())
    return datasets


def _writes_bronze(ctx: StageContext) -> bool:
    """The first stage writes the crawl; a stage that publishes it moves it where readers see it."""
    return not ctx.stage.upstream or any(not stage_named(name).writes for name in ctx.stage.publishes)


@dataclass(frozen=True)
class _Dataset:
    namespace: str
    name: str
    version: str | None = None  # a table's snapshot id, a crawl's run id

    def _facets(self) -> dict[str, DatasetFacet]:
        if self.version is None:
            return {}
        return {"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=self.version)}

    def as_input(self) -> InputDataset:
        return InputDataset(namespace=self.namespace, name=self.name, facets=self._facets())

    def as_output(self, rows: int | None = None) -> OutputDataset:
        statistics: dict[str, OutputDatasetFacet] = {}
        if rows is not None:
            counted = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=rows)
            statistics["outputStatistics"] = counted
        return OutputDataset(
            namespace=self.namespace, name=self.name, facets=self._facets(), outputFacets=statistics
        )


def _table(settings: Settings, identifier: str, snapshot: int | None) -> _Dataset:
    # The catalog's database, without credentials or options: where the identifier is unique.
    namespace = re.sub(r"//[^/@]*@", "//", catalog_uri(settings).split("?")[0])
    return _Dataset(namespace, identifier, None if snapshot is None else str(snapshot))


def _bronze(settings: Settings, crawl_run_id: str | None) -> _Dataset:
    """Bronze's crawls, named by location. A crawl has no snapshot: the run that wrote it stands
    for its version."""
    uri = Layout(settings).bronze_table_uri()
    if uri.startswith("s3a://"):
        bucket, key = split_s3(uri)
        return _Dataset(f"s3://{bucket}", key, crawl_run_id)
    return _Dataset("file", uri.removeprefix("file://"), crawl_run_id)
