"""The pipeline's "parameters" table: one record per stage and run date, written when a stage succeeds.

A record means "this stage's output for this date is complete". It is what ``breweries status`` shows,
what makes a rerun skip finished work, and what a downstream stage checks before reading its input.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from breweries.errors import MissingUpstreamError
from breweries.pipeline import STAGE_NAMES, stage, stages_from
from breweries.storage import Store, join_uri


@dataclass(frozen=True)
class StageRun:
    stage: str
    run_date: str
    started_at: str
    finished_at: str
    duration_seconds: float
    rows_in: int
    rows_out: int
    output: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> StageRun:
        return cls(**json.loads(data))


class StateStore:
    """Reads and writes :class:`StageRun` records under ``<root>/_state/<stage>/run_date=D.json``."""

    def __init__(self, store: Store, state_uri: str) -> None:
        self._store = store
        self._uri = state_uri

    def _record_uri(self, stage: str, run_date: date | str) -> str:
        day = run_date if isinstance(run_date, str) else run_date.isoformat()
        return join_uri(self._uri, stage, f"run_date={day}.json")

    def get(self, stage: str, run_date: date) -> StageRun | None:
        uri = self._record_uri(stage, run_date)
        if not self._store.exists(uri):
            return None
        return StageRun.from_json(self._store.read_bytes(uri))

    def forget(self, name: str, run_date: date | str) -> None:
        """Unmark ``stage`` and every later stage for the date, before the stage rewrites its output.

        A stage killed half-way then leaves nothing that claims the date is done.
        """
        for later in stages_from(name):
            # Idempotent on both backends: no need to look before deleting.
            self._store.delete_object(self._record_uri(later.name, run_date))

    def record(self, run: StageRun) -> None:
        """Record ``run`` as done: written after its output is complete (see :meth:`forget`)."""
        self._store.write_bytes(self._record_uri(run.stage, run.run_date), run.to_json())

    def require_upstream(self, name: str, run_date: date) -> None:
        for upstream in stage(name).upstream:
            if self.get(upstream, run_date) is None:
                raise MissingUpstreamError(name, upstream, run_date)

    def all_runs(self) -> list[StageRun]:
        runs = [
            StageRun.from_json(self._store.read_bytes(uri))
            for uri in self._store.list_files(self._uri)
            if uri.endswith(".json")
        ]
        return sorted(runs, key=lambda r: (STAGE_NAMES.index(r.stage), r.run_date))

    def status(self, run_date: date | None = None) -> dict[str, StageRun | None]:
        """Per stage in pipeline order: its record for ``run_date``, or its latest when None."""
        runs = self.all_runs()  # sorted by stage, then date: the last one of a stage is its latest
        if run_date is not None:
            runs = [r for r in runs if r.run_date == run_date.isoformat()]
        latest = {r.stage: r for r in runs}
        return {name: latest.get(name) for name in STAGE_NAMES}
