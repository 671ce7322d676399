"""``breweries maintain``: the tables' upkeep in a SparkSession of its own (a weekly job in a cluster)."""

from __future__ import annotations

from breweries.lake.commits import Lake
from breweries.lake.maintenance import maintain
from breweries.logs import get_logger
from breweries.settings import Settings
from breweries.spark import LazySparkSession


def run_maintenance(settings: Settings) -> None:
    log = get_logger(command="maintain")
    # Named as the stages' applications are in the History Server: by its workflow, when in one.
    name = "-".join(["breweries-maintain", *([settings.workflow_name] if settings.workflow_name else [])])
    with LazySparkSession(settings, name) as spark:
        for summary in maintain(Lake(spark(), settings)):
            log.info(f"maintained {summary['table']}", extra=summary)
