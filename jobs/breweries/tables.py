"""Reading and writing the pipeline's tables: the I/O edge around the pure transforms."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from breweries.layout import abandoned_staging_prefix, staging_for
from breweries.storage import Store
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


def read_table(spark: SparkSession, uri: str, schema: StructType) -> DataFrame:
    """A Parquet table (one date's folder) with its known schema; partition columns come from paths."""
    return spark.read.schema(schema).parquet(uri)


def count_by(df: DataFrame, column: str) -> dict[str | None, int]:
    """Rows per value of ``column`` (a small result, collected to the driver)."""
    return {row[column]: row["count"] for row in df.groupBy(column).count().collect()}


def write_table(
    df: DataFrame,
    uri: str,
    store: Store,
    run_id: str,
    partition_by: Sequence[str] = (),
    max_records_per_file: int | None = None,
    partitioned_input: bool = False,
) -> None:
    """Replace the table folder ``uri`` with ``df``: one file per partition, never a half-written folder.

    Spark writes into a staging folder; only a complete write is swapped in, so a crash leaves the
    previous content of ``uri`` as it was. Repartitioning by the partition columns puts each
    partition's rows in one task, hence one file, or several of ``max_records_per_file`` rows at most
    (see ``rows_per_file``). With ``partitioned_input``, ``df`` was read from a table partitioned
    the same way: each input file holds rows of one partition, so the rows are written as read,
    without a shuffle, a file per input file.
    """
    staging = staging_for(uri, run_id)
    # An explicit partition count: adaptive execution would otherwise merge small data into one
    # task that writes every file alone, leaving the other cores idle.
    parallelism = df.sparkSession.sparkContext.defaultParallelism
    if not partition_by:
        shaped = df.coalesce(1)
    else:
        shaped = df if partitioned_input else df.repartition(parallelism, *partition_by)
    writer = shaped.write.mode("overwrite").partitionBy(*partition_by)
    if max_records_per_file:
        sizes = [row["count"] for row in df.groupBy(*partition_by).count().collect()]
        writer = writer.option("maxRecordsPerFile", rows_per_file(sizes, max_records_per_file))
    try:
        writer.parquet(staging)
        store.replace_tree(staging, uri)
    finally:
        # This run's staging, and any that a killed run of the date left behind.
        store.delete_trees_named(abandoned_staging_prefix(uri))


def rows_per_file(partition_rows: Iterable[int], limit: int) -> int:
    """Rows per file, at most ``limit``, such that no partition ends in a last file under half the others.

    A partition of c rows is written as files of L rows plus one of c mod L. L is the largest value
    in [limit/2, limit] (in steps of limit/1000) that leaves every such last file empty or of at least
    L/2 rows; ``limit`` when no value does.
    """
    large = [rows for rows in partition_rows if rows > limit // 2]
    for per_file in range(limit, max(1, limit // 2) - 1, -max(1, limit // 1000)):
        if all(rows % per_file == 0 or rows % per_file >= per_file / 2 for rows in large if rows > per_file):
            return per_file
    return limit
