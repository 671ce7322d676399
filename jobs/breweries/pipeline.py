"""The pipeline: its stages in run order, declared once.

The runner, the state store, the CLI and the tests read :data:`STAGES`; tests check that the Helm
chart and the Makefile list the same stages, in the same order, with the same images and entry point.
Quality runs on raw silver before anything is published from it.
"""

from __future__ import annotations

from breweries.layout import Layout
from breweries.stages import bronze, gold, quality, silver, silver_anonymized
from breweries.stages.base import Stage
from breweries.transforms.gold import GOLD_SCHEMA
from breweries.transforms.silver import SILVER_SCHEMA

STAGES: tuple[Stage, ...] = (
    Stage("bronze", bronze.run, upstream=(), output=Layout.bronze_uri),
    Stage(
        "silver",
        silver.run,
        upstream=("bronze",),
        output=Layout.silver_uri,
        schema=SILVER_SCHEMA,
        partition_columns=("country", "state"),
    ),
    Stage("quality", quality.run, upstream=("silver",), output=Layout.quality_report_uri),
    Stage(
        "silver_anonymized",
        silver_anonymized.run,
        upstream=("silver", "quality"),
        output=Layout.silver_anonymized_uri,
        schema=SILVER_SCHEMA,
        partition_columns=("country", "state"),
    ),
    Stage(
        "gold",
        gold.run,
        upstream=("quality", "silver_anonymized"),
        output=Layout.gold_uri,
        schema=GOLD_SCHEMA,
        partition_columns=("country",),
    ),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)

# What a stage image's SparkApplication runs (images/stage/Dockerfile puts it there).
ENTRY_POINT = "/opt/breweries/run_stage.py"


def stage(name: str) -> Stage:
    for candidate in STAGES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no stage {name!r}; the stages are {', '.join(STAGE_NAMES)}")


def stages_from(name: str) -> tuple[Stage, ...]:
    """``name`` and every stage after it: those whose output a rerun of ``name`` makes stale."""
    return STAGES[STAGE_NAMES.index(name) :]
