"""Gold aggregates, from anonymized silver."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

# Gold's columns as Spark reads the table back: country, the partition column, comes last.
GOLD_SCHEMA = StructType(
    [
        StructField("state", StringType(), metadata={"comment": "state or province"}),
        StructField("brewery_type", StringType(), metadata={"comment": "the brewery type"}),
        StructField("brewery_count", LongType(), metadata={"comment": "breweries of this type in the state"}),
        StructField("country", StringType(), metadata={"comment": "country (partition)"}),
    ]
)


def brewery_counts_by_type_and_location(breweries: DataFrame) -> DataFrame:
    """How many breweries of each type there are per country and state."""
    return breweries.groupBy("country", "state", "brewery_type").agg(F.count(F.lit(1)).alias("brewery_count"))
