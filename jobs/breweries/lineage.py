"""OpenLineage events of each stage run: what it read and wrote, at which Iceberg snapshots.

OpenLineage's Spark listener has no release for Spark 4.0, so the runner, the one place that knows
which snapshot a stage read, which it committed and how many rows it wrote, sends the events itself
with OpenLineage's Python client: START when a stage starts, then COMPLETE or FAIL. Every stage run
of one pipeline run names the same parent run: the Argo workflow's uid in a cluster, one new id per
process locally.

Datasets: a table is named by its catalog identifier (``silver.breweries``) in the namespace of its
catalog, with its snapshot as the dataset version and the run date's rows as its output statistics;
bronze's crawl and the API are named by location (OpenLineage's naming for files and URLs).

Lineage never changes a run's outcome: the first event that cannot be delivered is one warning line
naming the destination, after which the process sends no more, so a destination that is down costs
at most one short timeout.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import requests
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
from breweries.errors import describe
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
# Per event, and no retries: lineage must never hold a run up for long.
TIMEOUT_SECONDS = 2.0


class Lineage:
    """Sends one pipeline run's stage events to ``settings.lineage_url``; never raises."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.parent_run_id = settings.lineage_parent_run_id or str(generate_new_uuid())
        self._client: OpenLineageClient | None = None
        self._given_up = not settings.lineage_url

    @property
    def destination(self) -> str:
        """The URL or file, without credentials or a query: what a warning may name."""
        url = self.settings.lineage_url
        if not url.startswith(("http://", "https://")):
            return url
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"

    def started(self, ctx: StageContext, upstream: Mapping[str, StageRun]) -> str:
        """Send START; the id of this stage run in its events."""
        run_id = str(generate_new_uuid())
        self._send(
            ctx, lambda: self._event(RunState.START, ctx, upstream, run_id, _planned_outputs(ctx, upstream))
        )
        return run_id

    def completed(
        self, ctx: StageContext, upstream: Mapping[str, StageRun], run_id: str, run: StageRun
    ) -> None:
        self._send(
            ctx, lambda: self._event(RunState.COMPLETE, ctx, upstream, run_id, _outputs(ctx, upstream, run))
        )

    def failed(
        self, ctx: StageContext, upstream: Mapping[str, StageRun], run_id: str, exc: BaseException
    ) -> None:
        error = error_message_run.ErrorMessageRunFacet(message=describe(exc), programmingLanguage="python")
        self._send(
            ctx,
            lambda: self._event(
                RunState.FAIL, ctx, upstream, run_id, _planned_outputs(ctx, upstream), {"errorMessage": error}
            ),
        )

    def _event(
        self,
        state: RunState,
        ctx: StageContext,
        upstream: Mapping[str, StageRun],
        run_id: str,
        outputs: list[OutputDataset],
        facets: Mapping[str, RunFacet] | None = None,
    ) -> RunEvent:
        parent = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=self.parent_run_id),
            job=parent_run.Job(namespace=JOB_NAMESPACE, name=PARENT_JOB),
        )
        # The date the stage builds, which a backfill runs long after.
        nominal = nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=f"{ctx.run_date.isoformat()}T00:00:00Z"
        )
        return RunEvent(
            eventType=state,
            eventTime=datetime.now(timezone.utc).isoformat(),
            run=Run(runId=run_id, facets={"parent": parent, "nominalTime": nominal, **(facets or {})}),
            job=Job(namespace=JOB_NAMESPACE, name=ctx.stage.name),
            producer=PRODUCER,
            inputs=_inputs(ctx, upstream),
            outputs=outputs,
        )

    def _send(self, ctx: StageContext, build: Callable[[], RunEvent]) -> None:
        if self._given_up:
            return
        try:
            # Built here too: a fault in naming a dataset must not fail the stage either.
            self._connect().emit(build())
        except Exception as exc:
            self._given_up = True
            ctx.log.warning(
                f"could not send OpenLineage events to {self.destination} ({_reason(exc)}); "
                "the run goes on without them",
                extra={"component": "lineage"},
            )

    def _connect(self) -> OpenLineageClient:
        if self._client is None:
            # The client's own log lines would repeat what the warning above says, once per event.
            logging.getLogger("openlineage").setLevel(logging.CRITICAL)
            self._client = OpenLineageClient(transport=_transport(self.settings.lineage_url))
        return self._client


def _transport(url: str) -> Transport:
    if url.startswith(("http://", "https://")):
        parts = urlsplit(url)
        endpoint = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
        no_retries = {"total": 0, "connect": 0, "read": 0, "status": 0}
        config = HttpConfig(
            url=f"{parts.scheme}://{parts.netloc}",
            endpoint=endpoint or DEFAULT_ENDPOINT,
            timeout=TIMEOUT_SECONDS,
            retry=no_retries,
        )
        return HttpTransport(config)
    path = Path(url.removeprefix("file://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileTransport(FileConfig(log_file_path=str(path), append=True))


def _reason(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return describe(exc, limit=200)


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


def _planned_outputs(ctx: StageContext, upstream: Mapping[str, StageRun]) -> list[OutputDataset]:
    """What the stage will write, before it has: no snapshots, no counts."""
    tables = [t.identifier for t in ctx.stage.writes]
    tables += [t for name in ctx.stage.publishes for t in upstream[name].snapshots]
    datasets = [_table(ctx.settings, t, None).as_output() for t in tables]
    if _writes_bronze(ctx):
        datasets.append(_bronze(ctx.settings, None).as_output())
    return datasets


def _outputs(ctx: StageContext, upstream: Mapping[str, StageRun], run: StageRun) -> list[OutputDataset]:
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
