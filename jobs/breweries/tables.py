"""Reading and writing the pipeline's tables: the I/O edge around the pure transforms."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
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
    partition's rows in one task, hence one file. A partition of more than ``max_records_per_file``
    rows is written on its own as files of even size (see ``even_split``). With
    ``partitioned_input``, ``df`` was read from a table partitioned the same way: each input file
    holds rows of one partition, so the rows are written as read, without a shuffle.
    """
    staging = staging_for(uri, run_id)
    # An explicit partition count: adaptive execution would otherwise merge small data into one
    # task that writes every file alone, leaving the other cores idle.
    parallelism = df.sparkSession.sparkContext.defaultParallelism
    # The row limit splits partitions; a table without partition columns stays one file.
    large = (
        _large_partitions(df, partition_by, max_records_per_file)
        if max_records_per_file and partition_by
        else {}
    )
    rest = df.filter(~reduce(operator.or_, map(_is_partition, large))) if large else df
    if not partition_by:
        # Not coalesce(1): that would also compute the input in one task. A shuffle of the output
        # rows keeps every core on the input and one task on the file.
        shaped = rest.repartition(1)
    else:
        shaped = rest if partitioned_input else rest.repartition(parallelism, *partition_by)
    try:
        shaped.write.mode("overwrite").partitionBy(*partition_by).parquet(staging)
        for partition, rows_per_file in large.items():
            # One task holds the partition's rows, so that it cuts them into files of even size.
            one = df.filter(_is_partition(partition)).repartition(1)
            writer = one.write.mode("append").partitionBy(*partition_by)
            writer.option("maxRecordsPerFile", rows_per_file).parquet(staging)
        store.replace_tree(staging, uri)
    finally:
        # This run's staging, and any that a killed run of the date left behind.
        store.delete_trees_named(abandoned_staging_prefix(uri))


def even_split(rows: int, limit: int) -> int:
    """Rows per file that cut ``rows`` into the fewest files of at most ``limit`` rows, all but the
    last of the same size and the last smaller by less than one row per file."""
    files = -(-rows // limit)
    return -(-rows // files)


def _large_partitions(df: DataFrame, partition_by: Sequence[str], limit: int) -> dict[tuple, int]:
    """The partitions of more than ``limit`` rows, as {(column, value) pairs: rows per file}."""
    counts = df.groupBy(*partition_by).count().filter(F.col("count") > limit).collect()
    return {tuple((c, row[c]) for c in partition_by): even_split(row["count"], limit) for row in counts}


def _is_partition(partition: tuple) -> Column:
    return reduce(operator.and_, (F.col(c).eqNullSafe(value) for c, value in partition))
