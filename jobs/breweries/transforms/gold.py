"""Gold aggregates, from anonymized silver."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

GOLD_COLUMNS = ("country", "state", "brewery_type", "brewery_count")


def brewery_counts_by_type_and_location(breweries: DataFrame) -> DataFrame:
    """How many breweries of each type there are per country and state."""
    return breweries.groupBy("country", "state", "brewery_type").agg(F.count(F.lit(1)).alias("brewery_count"))
