"""The pipeline's "parameters" table: one record per stage and run date, written when a stage succeeds.

A record says "this stage's output for this date is complete": where it is, the snapshots it
committed, and which upstream runs it was built from. It is what ``breweries status`` shows, what
makes a rerun skip finished work, and what a downstream stage checks before reading its input.
A record is only ever replaced by a newer success: a failed run leaves the date's records as they were.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from breweries.errors import MissingUpstreamError
from breweries.pipeline import STAGE_NAMES, stage
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
    run_id: str = ""
    inputs: dict[str, str] = field(default_factory=dict)  # upstream stage -> the run_id it read
    snapshots: dict[str, int] = field(default_factory=dict)  # table -> the snapshot it committed

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

    def record(self, run: StageRun) -> None:
        """Record ``run`` as done: written after its output is complete."""
        self._store.write_bytes(self._record_uri(run.stage, run.run_date), run.to_json())

    def upstream_runs(self, name: str, run_date: date) -> dict[str, StageRun]:
        """The records of ``name``'s upstream stages for the date; every one must exist."""
        runs = {}
        for upstream in stage(name).upstream:
            run = self.get(upstream, run_date)
            if run is None:
                raise MissingUpstreamError(name, upstream, run_date)
            runs[upstream] = run
        return runs

    def current(self, name: str, run_date: date) -> StageRun | None:
        """``name``'s record for the date if it was built from its upstream stages' latest runs.

        A record built from an earlier upstream run (an upstream stage reran since) is stale: its
        stage runs again even without --force.
        """
        run = self.get(name, run_date)
        if run is None:
            return None
        for upstream in stage(name).upstream:
            latest = self.get(upstream, run_date)
            if latest is None or run.inputs.get(upstream) != latest.run_id:
                return None
        return run

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
