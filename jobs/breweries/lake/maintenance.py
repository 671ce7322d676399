"""Upkeep of the tables (``breweries maintain``): expire old snapshots, remove orphan files, compact.

Snapshots younger than the retention stay readable (time travel); older ones are expired, keeping
at least the current one. Files no snapshot references are removed when older than the retention
too, so that a commit under way (whose files are not yet referenced) is never touched.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from breweries.lake.commits import Lake
from breweries.lake.tables import TABLES


def maintain(lake: Lake, now: datetime | None = None) -> list[dict[str, Any]]:
    """Maintain every table that exists; one summary per table."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=lake.settings.snapshot_retention_days)
    older_than = cutoff.strftime("%Y-%m-%d %H:%M:%S")
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
            f"CALL {system}.remove_orphan_files(table => '{ident}', older_than => TIMESTAMP '{older_than}')"
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
