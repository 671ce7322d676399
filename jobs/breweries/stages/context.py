"""What a stage is given and what it gives back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pyspark.sql import SparkSession

from breweries.layout import Layout
from breweries.settings import Settings
from breweries.storage import ObjectStore


@dataclass(frozen=True)
class StageContext:
    settings: Settings
    run_date: date
    store: ObjectStore
    run_id: str
    log: logging.LoggerAdapter  # type: ignore[type-arg]
    # A factory, not a session: bronze needs no JVM, so none is started for it.
    spark_factory: Callable[[], SparkSession]

    @property
    def layout(self) -> Layout:
        return Layout(self.settings)

    @property
    def spark(self) -> SparkSession:
        return self.spark_factory()


@dataclass(frozen=True)
class StageResult:
    rows_in: int
    rows_out: int
    output: str
    details: dict[str, Any] = field(default_factory=dict)
