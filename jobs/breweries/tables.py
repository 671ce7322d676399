"""Reading bronze's pages, and small aggregates collected to the driver: the I/O edge of silver and quality.

The Iceberg tables are read and written through :mod:`breweries.lake.commits`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructType

from breweries.transforms.silver import BRONZE_SCHEMA, CORRUPT_RECORD, SOURCE_FILE


def read_bronze_pages(spark: SparkSession, page_uris: Sequence[str]) -> DataFrame:
    """The records of the given bronze pages (JSON arrays), every field as text, plus its file.

    Each page is read whole and parsed from memory. Spark's streaming JSON reader (``multiLine``)
    corrupted numbers that a short read from S3A had split: ``-94.57977386`` came back as
    ``-94.5797`` and four NUL characters, in a few records a run, never the same ones, while the
    stored bytes were right. A page that does not parse is one row whose ``_corrupt_record``
    holds its text.
    """
    if not page_uris:
        raise ValueError("no bronze pages to read")
    pages = spark.read.text(list(page_uris), wholetext=True).select(
        F.col("value"), F.col("_metadata.file_path").alias(SOURCE_FILE)
    )
    fields = [f for f in BRONZE_SCHEMA.fields if f.name != CORRUPT_RECORD]
    records = F.from_json("value", ArrayType(StructType(fields)), {"mode": "PERMISSIVE"})
    parsed = pages.select(records.alias("records"), "value", SOURCE_FILE)
    good = parsed.where(F.col("records").isNotNull()).select(
        F.explode("records").alias("record"), SOURCE_FILE
    )
    good = good.select(
        *(F.col(f"record.{f.name}").alias(f.name) for f in fields),
        F.lit(None).cast(StringType()).alias(CORRUPT_RECORD),
        SOURCE_FILE,
    )
    bad = parsed.where(F.col("records").isNull()).select(
        *(F.lit(None).cast(StringType()).alias(f.name) for f in fields),
        F.col("value").alias(CORRUPT_RECORD),
        SOURCE_FILE,
    )
    return good.unionByName(bad)


def count_by(df: DataFrame, column: str) -> dict[str | None, int]:
    """Rows per value of ``column`` (a small result, collected to the driver)."""
    return {row[column]: row["count"] for row in df.groupBy(column).count().collect()}
