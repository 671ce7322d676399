"""Gold: brewery counts by type and location, from anonymized silver."""

from __future__ import annotations

from pyspark.sql.types import LongType, StringType, StructField, StructType

from breweries.stages.context import StageContext, StageResult
from breweries.tables import read_table, write_table
from breweries.transforms.gold import brewery_counts_by_type_and_location
from breweries.transforms.silver import SILVER_SCHEMA

GOLD_SCHEMA = StructType(
    [
        StructField("state", StringType()),
        StructField("brewery_type", StringType()),
        StructField("brewery_count", LongType()),
        StructField("country", StringType()),
    ]
)


def run(ctx: StageContext) -> StageResult:
    layout, day = ctx.layout, ctx.run_date
    breweries = read_table(ctx.spark, layout.silver_anonymized_date(day), SILVER_SCHEMA)
    output = layout.gold_date(day)
    write_table(brewery_counts_by_type_and_location(breweries), output, ctx.store, ctx.run_id, ("country",))
    rows_in = breweries.count()
    rows_out = read_table(ctx.spark, output, GOLD_SCHEMA).count()
    ctx.log.info("wrote gold", extra={"rows_in": rows_in, "rows_out": rows_out, "output": output})
    return StageResult(rows_in, rows_out, output)
