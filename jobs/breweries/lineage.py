"""OpenLineage events of each stage run: what it read and wrote, at which Iceberg snapshots.

OpenLineage's Spark listener has no release for Spark 4.0, so the runner, the one place that knows
which snapshot a stage read, which it committed and how many rows it wrote, sends the events itself
with OpenLineage's Python client: START when a stage starts, then COMPLETE or FAIL. Every stage run
of one pipeline run names the same parent run: the Argo workflow's uid in a cluster, one new id per
process locally.

The events and their datasets are built in :mod:`breweries.lineage_events`, imported only by a run
that sends them.

Lineage never changes a run's outcome: the first event that cannot be delivered is one warning line
naming the destination, after which the process sends no more, so a destination that is down costs
at most one short timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from breweries.errors import describe
from breweries.settings import Settings
from breweries.stages.base import StageContext
from breweries.state import StageRun

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import OutputDataset, RunEvent

# Per event, and no retries: lineage must never hold a run up for long.
TIMEOUT_SECONDS = 2.0


class Lineage:
    """Sends one pipeline run's stage events to ``settings.lineage_url``; never raises."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._parent_run_id = settings.lineage_parent_run_id
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
        """Send START; the id of this stage run in its events ("" when no events are sent)."""
        if self._given_up:
            return ""
        events = _events()
        run_id = events.new_run_id()
        self._send(
            ctx, lambda: self._event("START", ctx, upstream, run_id, events.planned_outputs(ctx, upstream))
        )
        return run_id

    def completed(
        self, ctx: StageContext, upstream: Mapping[str, StageRun], run_id: str, run: StageRun
    ) -> None:
        self._send(
            ctx, lambda: self._event("COMPLETE", ctx, upstream, run_id, _events().outputs(ctx, upstream, run))
        )

    def failed(
        self, ctx: StageContext, upstream: Mapping[str, StageRun], run_id: str, exc: BaseException
    ) -> None:
        self._send(
            ctx,
            lambda: self._event(
                "FAIL", ctx, upstream, run_id, _events().planned_outputs(ctx, upstream), describe(exc)
            ),
        )

    def _event(
        self,
        state: str,
        ctx: StageContext,
        upstream: Mapping[str, StageRun],
        run_id: str,
        outputs: list[OutputDataset],
        error: str | None = None,
    ) -> RunEvent:
        events = _events()
        if not self._parent_run_id:  # one parent for every stage of this run
            self._parent_run_id = events.new_run_id()
        return events.run_event(state, ctx, upstream, run_id, self._parent_run_id, outputs, error)

    def _send(self, ctx: StageContext, build: Callable[[], RunEvent]) -> None:
        if self._given_up:
            return
        try:
            # Built here too: a fault in naming a dataset must not fail the stage either.
            if self._client is None:
                self._client = _events().connect(self.settings.lineage_url, TIMEOUT_SECONDS)
            self._client.emit(build())
        except Exception as exc:
            self._given_up = True
            ctx.log.warning(
                f"could not send OpenLineage events to {self.destination} ({_reason(exc)}); "
                "the run goes on without them",
                extra={"component": "lineage"},
            )


def _events() -> ModuleType:
    # OpenLineage's client takes a fifth of a second to import: only a run that sends events pays it.
    from breweries import lineage_events

    return lineage_events


def _reason(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return describe(exc, limit=200)
