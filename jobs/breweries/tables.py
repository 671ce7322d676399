"""Reading bronze's pages, and small aggregates collected to the driver: the I/O edge of silver and quality.

The Iceberg tables are read and written through :mod:`breweries.lake.commits`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StructType

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
    record = StructType(fields)
    records = F.from_json("value", ArrayType(record), {"mode": "PERMISSIVE"})
    # One pass over the pages, each parsed once: a page that does not parse becomes one empty record
    # that carries its text. Only such a page's text goes on with its rows: a parsed page's text
    # would be copied into each of its records' rows.
    parsed = pages.select(records.alias("records"), "value", SOURCE_FILE).select(
        "records", F.when(F.col("records").isNull(), F.col("value")).alias(CORRUPT_RECORD), SOURCE_FILE
    )
    one_empty = F.array(F.lit(None).cast(record))
    rows = parsed.select(
        F.explode(F.coalesce("records", one_empty)).alias("record"), CORRUPT_RECORD, SOURCE_FILE
    )
    return rows.select(
        *(F.col(f"record.{f.name}").alias(f.name) for f in fields), CORRUPT_RECORD, SOURCE_FILE
    )


def count_by(df: DataFrame, column: str) -> dict[str | None, int]:
    """Rows per value of ``column`` (a small result, collected to the driver)."""
    return {row[column]: row["count"] for row in df.groupBy(column).count().collect()}
