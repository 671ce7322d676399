"""Reading the pipeline's Iceberg tables as a reader would: what ``main`` publishes for a date.

Through the test session's Spark (local storage) and the catalog the run used. Another process may
have committed since the session last looked at a table: Iceberg's Spark catalog caches tables, so
each read refreshes the table first.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession

from breweries.lake.commits import Lake
from breweries.lake.tables import Table
from breweries.settings import Settings


def lake_of(spark: SparkSession, settings: Settings, *tables: Table) -> Lake:
    lake = Lake(spark, settings)
    for table in tables:
        spark.sql(f"REFRESH TABLE {lake.name(table)}")
    return lake


def published(spark: SparkSession, settings: Settings, table: Table, day: date | str) -> DataFrame:
    """The date's rows of ``table`` as published on main (the table's columns, no snapshot_date)."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return lake_of(spark, settings, table).read(table, day)


def main_snapshot(spark: SparkSession, settings: Settings, table: Table) -> int | None:
    """The snapshot readers see (``main``), or None for a table without one."""
    lake = lake_of(spark, settings, table)
    found = spark.sql(f"SELECT snapshot_id FROM {lake.name(table)}.refs WHERE name = 'main'").collect()
    return found[0]["snapshot_id"] if found else None


def referenced_files(
    spark: SparkSession, settings: Settings, table: Table, *, every_snapshot: bool = False
) -> set[str]:
    """The data files main's current snapshot reads (or that any snapshot still references)."""
    lake = lake_of(spark, settings, table)
    metadata = "all_data_files" if every_snapshot else "files"
    return {
        r["file_path"] for r in spark.sql(f"SELECT file_path FROM {lake.name(table)}.{metadata}").collect()
    }


def published_partitions(spark: SparkSession, settings: Settings, table: Table) -> set[tuple]:
    """The partition values (snapshot_date first, as text) of the files main's current snapshot reads."""
    lake = lake_of(spark, settings, table)
    rows = spark.sql(f"SELECT partition FROM {lake.name(table)}.files").collect()
    return {tuple(None if v is None else str(v) for v in r["partition"]) for r in rows}
