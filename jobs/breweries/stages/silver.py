"""Silver: bronze pages of the date -> typed, cleaned, de-duplicated Parquet, plus a quarantine."""

from __future__ import annotations

from datetime import datetime

from breweries.manifest import load_manifest
from breweries.stages.base import StageContext, StageResult
from breweries.storage import join_uri
from breweries.tables import count_by, read_bronze_pages, write_table
from breweries.transforms.silver import (
    QUARANTINE_REASON,
    duplicate_losers,
    flag_duplicates,
    prepare_breweries,
    quarantined_rows,
    silver_rows,
)


def run(ctx: StageContext) -> StageResult:
    layout, day = ctx.layout, ctx.run_date
    manifest = load_manifest(ctx.store, layout.bronze_manifest_uri(day))
    # Only the pages this crawl listed: a stray file in the folder is not part of the snapshot.
    pages = [join_uri(layout.bronze_uri(day), p.file) for p in manifest.pages]
    bronze = read_bronze_pages(ctx.spark, pages)
    # Bronze is parsed once: the count, both tables and the search for duplicates read this copy.
    # The losing rows are few, and cached so that the search runs once.
    prepared = prepare_breweries(bronze, day, datetime.fromisoformat(manifest.fetched_at)).cache()
    losers = duplicate_losers(prepared).cache()
    flagged = flag_duplicates(prepared, losers)
    try:
        counts = count_by(flagged, QUARANTINE_REASON)
        write_table(
            silver_rows(flagged),
            ctx.output,
            ctx.store,
            ctx.run_id,
            ctx.stage.partition_columns,
            ctx.settings.silver_max_records_per_file,
        )
        write_table(quarantined_rows(flagged), layout.quarantine_uri(day), ctx.store, ctx.run_id)
    finally:
        losers.unpersist()
        prepared.unpersist()
    rows_out = counts.pop(None, 0)
    rows_in = rows_out + sum(counts.values())
    ctx.log.info(
        "wrote silver",
        extra={
            "rows_in": rows_in,
            "rows_out": rows_out,
            "quarantined": counts,
            "output": ctx.output,
        },
    )
    return StageResult(
        rows_in=rows_in,
        rows_out=rows_out,
        output=ctx.output,
        details={"quarantined": dict(sorted(counts.items())), "quarantine": layout.quarantine_uri(day)},
    )
