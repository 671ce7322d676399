"""The pipeline: its stages in run order, declared once.

The runner, the state store, the CLI and the tests read :data:`STAGES`; tests check that the Helm
chart and the Makefile list the same stages, in the same order, with the same images and entry point.
Bronze and silver are audited: quality checks them before they are published to readers, and
anonymized silver and gold are built from what it published.
"""

from __future__ import annotations

from breweries.lake.tables import Table
from breweries.stages import bronze, gold, quality, silver, silver_anonymized
from breweries.stages.base import Stage
from breweries.stages.gold import GOLD
from breweries.stages.quality import QUALITY_CHECKS
from breweries.stages.silver import QUARANTINE, SILVER
from breweries.stages.silver_anonymized import SILVER_ANONYMIZED

STAGES: tuple[Stage, ...] = (
    Stage("bronze", bronze.run, audited=True),
    Stage("silver", silver.run, upstream=("bronze",), writes=(SILVER, QUARANTINE), audited=True),
    Stage(
        "quality",
        quality.run,
        upstream=("bronze", "silver"),
        reads=(SILVER, QUARANTINE),
        writes=(QUALITY_CHECKS,),
        publishes=("bronze", "silver"),
    ),
    Stage(
        "silver_anonymized",
        silver_anonymized.run,
        upstream=("quality",),
        reads=(SILVER,),
        writes=(SILVER_ANONYMIZED,),
        needs=("pseudonymization_key",),
        check=silver_anonymized.check,
    ),
    Stage(
        "gold",
        gold.run,
        upstream=("quality", "silver_anonymized"),
        reads=(SILVER_ANONYMIZED,),
        writes=(GOLD,),
    ),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
# Every table, in the order the stages write them.
TABLES: tuple[Table, ...] = tuple(t for s in STAGES for t in s.writes)

# What a stage image's SparkApplication runs (images/stage/Dockerfile puts it there).
ENTRY_POINT = "/opt/breweries/run_stage.py"


def stage(name: str) -> Stage:
    for candidate in STAGES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no stage {name!r}; the stages are {', '.join(STAGE_NAMES)}")


def table(identifier: str) -> Table:
    for candidate in TABLES:
        if candidate.identifier == identifier:
            return candidate
    raise KeyError(f"no table {identifier!r}; the tables are {', '.join(t.identifier for t in TABLES)}")


def writer(table: Table) -> Stage:
    """The stage that commits ``table``."""
    return next(s for s in STAGES if table in s.writes)
