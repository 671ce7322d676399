"""The measurements the data-quality gate judges, computed in one pass over silver."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from breweries.api.fields import BREWERY_TYPES


def _count_where(condition: Column) -> Column:
    return F.coalesce(F.sum(F.when(condition, 1).otherwise(0)), F.lit(0)).cast("long")


def quality_metrics(silver: DataFrame) -> DataFrame:
    """One row: row count, null and duplicate ids, unknown types, bad coordinates, missing country."""
    lat, lon = F.col("latitude"), F.col("longitude")
    return silver.agg(
        F.count(F.lit(1)).alias("row_count"),
        _count_where(F.col("id").isNull()).alias("null_id_count"),
        (F.count("id") - F.countDistinct("id")).alias("duplicate_id_count"),
        _count_where(
            F.col("brewery_type").isNull() | ~F.col("brewery_type").isin(*sorted(BREWERY_TYPES))
        ).alias("unknown_type_count"),
        _count_where(~lat.between(-90, 90) | ~lon.between(-180, 180)).alias("coordinates_out_of_range_count"),
        _count_where(F.col("country").isNull()).alias("missing_country_count"),
    )
