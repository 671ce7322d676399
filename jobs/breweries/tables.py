"""Reading bronze's pages, and small aggregates collected to the driver: the I/O edge of silver and quality.

The Iceberg tables are read and written through :mod:`breweries.lake.commits`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from breweries.transforms.silver import BRONZE_SCHEMA, CORRUPT_RECORD, SOURCE_FILE


def read_bronze_pages(spark: SparkSession, page_uris: Sequence[str]) -> DataFrame:
    """The records of the given bronze pages (JSON arrays), every field as text, plus its file."""
    if not page_uris:
        raise ValueError("no bronze pages to read")
    return (
        spark.read.schema(BRONZE_SCHEMA)
        .option("multiLine", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .json(list(page_uris))
        .withColumn(SOURCE_FILE, F.col("_metadata.file_path"))
    )


def count_by(df: DataFrame, column: str) -> dict[str | None, int]:
    """Rows per value of ``column`` (a small result, collected to the driver)."""
    return {row[column]: row["count"] for row in df.groupBy(column).count().collect()}
