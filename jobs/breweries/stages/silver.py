"""Silver: bronze pages of the date -> typed, cleaned, de-duplicated rows, plus a quarantine.

Both tables are audited: they wait on the date's audit branch until the quality gate publishes them.
"""

from __future__ import annotations

from datetime import datetime

from breweries.lake.tables import Table
from breweries.layout import MANIFEST_NAME
from breweries.manifest import load_manifest
from breweries.stages.base import StageContext, StageResult
from breweries.storage import join_uri
from breweries.tables import count_by, read_bronze_pages
from breweries.transforms.silver import (
    QUARANTINE_REASON,
    QUARANTINE_SCHEMA,
    SILVER_SCHEMA,
    duplicate_losers,
    flag_duplicates,
    prepare_breweries,
    quarantined_rows,
    silver_rows,
)

SILVER = Table(
    "silver",
    "breweries",
    SILVER_SCHEMA,
    "Every brewery of the run date's crawl: typed, cleaned, one row per id",
    partition_columns=("country", "state"),
)
QUARANTINE = Table(
    "silver", "quarantine", QUARANTINE_SCHEMA, "Bronze records silver could not use, with the reason"
)


def run(ctx: StageContext) -> StageResult:
    day = ctx.run_date
    manifest = load_manifest(ctx.store, join_uri(ctx.bronze_uri, MANIFEST_NAME))
    # Only the pages this crawl listed: a stray file in the folder is not part of the snapshot.
    pages = [join_uri(ctx.bronze_uri, p.file) for p in manifest.pages]
    bronze = read_bronze_pages(ctx.spark, pages)
    # Bronze is parsed once: the count, both tables and the search for duplicates read this copy.
    # The losing rows are few, and cached so that the search runs once.
    prepared = prepare_breweries(bronze, day, datetime.fromisoformat(manifest.fetched_at)).cache()
    losers = duplicate_losers(prepared).cache()
    flagged = flag_duplicates(prepared, losers)
    try:
        counts = count_by(flagged, QUARANTINE_REASON)
        silver = ctx.write(SILVER, silver_rows(flagged))
        ctx.write(QUARANTINE, quarantined_rows(flagged))
    finally:
        losers.unpersist()
        prepared.unpersist()
    rows_out = counts.pop(None, 0)
    rows_in = rows_out + sum(counts.values())
    ctx.log.info(
        "wrote silver for the gate to audit",
        extra={"rows_in": rows_in, "rows_out": rows_out, "quarantined": counts, "branch": silver.ref},
    )
    return StageResult(
        rows_in=rows_in,
        rows_out=rows_out,
        output=f"{SILVER.identifier}, {QUARANTINE.identifier} (branch {silver.ref})",
        details={"quarantined": dict(sorted(counts.items()))},
    )
