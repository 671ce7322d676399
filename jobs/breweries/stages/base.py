"""What a stage is, what it is given and what it gives back.

The stages themselves are declared once, in run order, in :mod:`breweries.pipeline`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

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
    """One step of the pipeline: its code, what it reads, what it writes and how clusters name it."""

    name: str  # the CLI's, the state records', the logs' and the chart values' name
    run: Callable[[StageContext], StageResult]
    upstream: tuple[str, ...]  # stages whose output for the same date it reads
    output: Callable[[Layout, date], str]  # where its output for a date lives
    schema: StructType | None = None  # of the table it writes; None when it writes no table
    partition_columns: tuple[str, ...] = ()

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
    # A factory, not a session: bronze needs no JVM, so none is started for it.
    spark_factory: Callable[[], SparkSession]

    @property
    def layout(self) -> Layout:
        return Layout(self.settings)

    @property
    def output(self) -> str:
        """This stage's output for the run date."""
        return self.stage.output(self.layout, self.run_date)

    @property
    def spark(self) -> SparkSession:
        return self.spark_factory()
