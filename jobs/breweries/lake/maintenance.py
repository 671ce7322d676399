"""Upkeep of the tables (``breweries maintain``): expire old snapshots, remove orphan files, compact.

Snapshots younger than the retention stay readable (time travel); older ones are expired, keeping
at least the current one. Files no snapshot references are removed when older than the retention
and at least three days (Iceberg's own default), so that the files of a commit under way, not yet
referenced, are never touched.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from breweries.lake.commits import Lake
from breweries.pipeline import TABLES

_ORPHAN_MIN_AGE = timedelta(days=3)


def maintain(lake: Lake, now: datetime | None = None) -> list[dict[str, Any]]:
    """Maintain every table that exists; one summary per table."""
    now = now or datetime.now(timezone.utc)
    retention = timedelta(days=lake.settings.snapshot_retention_days)
    older_than = (now - retention).strftime("%Y-%m-%d %H:%M:%S")
    orphans_older_than = (now - max(retention, _ORPHAN_MIN_AGE)).strftime("%Y-%m-%d %H:%M:%S")
    spark, system = lake.spark, f"{lake.catalog}.system"
    summaries = []
    for table in TABLES:
        if not spark.catalog.tableExists(lake.name(table)):
            continue
        ident = table.identifier
        compacted = spark.sql(
            f"CALL {system}.rewrite_data_files(table => '{ident}', options => map('min-input-files', '2'))"
        ).collect()[0]
        expired = spark.sql(
            f"CALL {system}.expire_snapshots(table => '{ident}', older_than => TIMESTAMP '{older_than}', "
            "retain_last => 1)"
        ).collect()[0]
        orphans = spark.sql(
            f"CALL {system}.remove_orphan_files(table => '{ident}', "
            f"older_than => TIMESTAMP '{orphans_older_than}')"
        ).collect()
        summaries.append(
            {
                "table": ident,
                "files_compacted": compacted["rewritten_data_files_count"],
                "files_written": compacted["added_data_files_count"],
                "snapshots_expired_data_files": expired["deleted_data_files_count"],
                "orphan_files_removed": len(orphans),
            }
        )
    return summaries
