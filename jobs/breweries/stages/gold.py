"""Gold: brewery counts by type and location, from anonymized silver."""

from __future__ import annotations

from breweries.lake.tables import Table
from breweries.stages.base import StageContext, StageResult
from breweries.stages.silver_anonymized import SILVER_ANONYMIZED
from breweries.transforms.gold import GOLD_SCHEMA, brewery_counts_by_type_and_location

GOLD = Table(
    "gold",
    "breweries_by_type_location",
    GOLD_SCHEMA,
    "Brewery counts by country, state and type",
    partition_columns=("country",),
)


def run(ctx: StageContext) -> StageResult:
    breweries = ctx.read(SILVER_ANONYMIZED)
    commit = ctx.write(GOLD, brewery_counts_by_type_and_location(breweries))
    rows_in = breweries.count()
    ctx.log.info(
        "wrote gold", extra={"rows_in": rows_in, "rows_out": commit.rows, "snapshot": commit.snapshot_id}
    )
    return StageResult(rows_in, commit.rows, GOLD.identifier)
