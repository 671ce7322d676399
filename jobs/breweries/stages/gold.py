"""Gold: brewery counts by type and location, from anonymized silver."""

from __future__ import annotations

from breweries.stages.base import StageContext, StageResult
from breweries.tables import read_table, write_table
from breweries.transforms.gold import GOLD_SCHEMA, brewery_counts_by_type_and_location
from breweries.transforms.silver import SILVER_SCHEMA


def run(ctx: StageContext) -> StageResult:
    breweries = read_table(ctx.spark, ctx.layout.silver_anonymized_uri(ctx.run_date), SILVER_SCHEMA)
    gold = brewery_counts_by_type_and_location(breweries)
    write_table(gold, ctx.output, ctx.store, ctx.run_id, ctx.stage.partition_columns)
    rows_in = breweries.count()
    rows_out = read_table(ctx.spark, ctx.output, GOLD_SCHEMA).count()
    ctx.log.info("wrote gold", extra={"rows_in": rows_in, "rows_out": rows_out, "output": ctx.output})
    return StageResult(rows_in, rows_out, ctx.output)
