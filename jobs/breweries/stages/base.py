"""What a stage is, what it is given and what it gives back.

The stages themselves are declared once, in run order, in :mod:`breweries.pipeline`. A stage reads
and writes tables only through its context: which snapshot it reads, where its rows are committed
and what is recorded of it are decided in one place (:mod:`breweries.lake.commits`, the runner).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from breweries.lake.commits import Commit, Lake
from breweries.lake.tables import Table
from breweries.layout import Layout
from breweries.settings import Settings
from breweries.storage import Store


@dataclass(frozen=True)
class StageResult:
    rows_in: int
    rows_out: int
    output: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: its code, what it reads and writes, and how clusters name it."""

    name: str  # the CLI's, the state records', the logs' and the chart values' name
    run: Callable[[StageContext], StageResult]
    upstream: tuple[str, ...] = ()  # stages whose output for the same date it reads
    reads: tuple[Table, ...] = ()  # the tables whose run-date rows it reads
    writes: tuple[Table, ...] = ()  # the tables it commits the run date's rows to
    # Its output waits for the quality gate: on an audit branch (tables) or beside the previous
    # crawl (bronze), until a stage that `publishes` it succeeds.
    audited: bool = False
    publishes: tuple[str, ...] = ()  # audited stages whose output it publishes when it succeeds
    # The settings it cannot run without (Settings fields), and its own check of the settings'
    # values (e.g. columns it must have): the runner checks both for every chosen stage before the
    # first one starts, so that a missing or wrong setting costs no other stage's time.
    needs: tuple[str, ...] = ()
    check: Callable[[Settings], None] | None = None

    @property
    def component(self) -> str:
        """The name where Kubernetes allows no underscore: images, workflow steps, object names."""
        return self.name.replace("_", "-")

    @property
    def image(self) -> str:
        """Its image's name, before the registry prefix and tag (images/stage/Dockerfile)."""
        return f"breweries-{self.component}"


@dataclass(frozen=True)
class StageContext:
    stage: Stage
    settings: Settings
    run_date: date
    store: Store
    run_id: str
    log: logging.LoggerAdapter
    # A factory, not a session: bronze needs no JVM, so none is started for it (but in a
    # SparkApplication with an event log: breweries.runner).
    spark_factory: Callable[[], SparkSession]
    # The upstream stages' outputs for the date: where bronze's pages are, and the audited
    # snapshots this stage is to check before they are published ({table: snapshot id}).
    bronze_uri: str = ""
    audited_snapshots: Mapping[str, int] = field(default_factory=dict)
    # What this stage committed, filled in by write().
    commits: dict[str, Commit] = field(default_factory=dict)

    @property
    def layout(self) -> Layout:
        return Layout(self.settings)

    @property
    def spark(self) -> SparkSession:
        return self.spark_factory()

    @property
    def lake(self) -> Lake:
        return Lake(self.spark, self.settings)

    def read(self, table: Table) -> DataFrame:
        """The run date's rows of ``table``: as audited when this stage checks them, else as published."""
        if table not in self.stage.reads:
            raise ValueError(f"stage {self.stage.name} does not read {table.identifier}")
        return self.lake.read(table, self.run_date, self.audited_snapshots.get(table.identifier))

    def write(self, table: Table, df: DataFrame, clustered: bool = False) -> Commit:
        """Commit ``df`` as the run date's rows of ``table``, one of the tables this stage writes
        (``clustered``: see :meth:`breweries.lake.commits.Lake.write`)."""
        if table not in self.stage.writes:
            raise ValueError(f"stage {self.stage.name} does not write {table.identifier}")
        commit = self.lake.write(
            table, df, self.run_date, self.run_id, audited=self.stage.audited, clustered=clustered
        )
        self.commits[table.identifier] = commit
        return commit
