"""Data quality: the gate between raw silver and everything published from it."""

from __future__ import annotations

from breweries.errors import DataQualityError
from breweries.manifest import load_manifest
from breweries.quality import SourceCounts, evaluate_quality
from breweries.stages.base import StageContext, StageResult
from breweries.tables import count_by, read_table
from breweries.transforms.quality import quality_metrics
from breweries.transforms.silver import (
    DUPLICATE_ID,
    QUARANTINE_REASON,
    QUARANTINE_SCHEMA,
    SILVER_SCHEMA,
)


def run(ctx: StageContext) -> StageResult:
    layout, day = ctx.layout, ctx.run_date
    silver = read_table(ctx.spark, layout.silver_uri(day), SILVER_SCHEMA)
    metrics = quality_metrics(silver).collect()[0].asDict()  # one row, the aggregate
    # Counted from the manifest and the quarantine table, not from what silver says of itself.
    quarantine = read_table(ctx.spark, layout.quarantine_uri(day), QUARANTINE_SCHEMA)
    quarantined = count_by(quarantine, QUARANTINE_REASON)
    duplicates = quarantined.pop(DUPLICATE_ID, 0)
    manifest = load_manifest(ctx.store, layout.bronze_manifest_uri(day))
    source = SourceCounts(
        bronze_records=manifest.record_count,
        quarantined=sum(quarantined.values()),
        duplicates_removed=duplicates,
        unexpected_fields=manifest.unexpected_fields,
        missing_fields=manifest.missing_fields,
    )
    report = evaluate_quality(metrics, source, day.isoformat())
    report_uri = ctx.output
    ctx.store.write_bytes(report_uri, report.to_json())
    for check in report.checks:
        if not check.passed:
            ctx.log.warning(
                f"quality check {check.name} failed: {check.message}", extra={"severity": check.severity}
            )
    if not report.passed:
        raise DataQualityError(report, report_uri)
    ctx.log.info("quality gate passed", extra={"rows": metrics["row_count"], "report": report_uri})
    return StageResult(
        rows_in=metrics["row_count"],
        rows_out=metrics["row_count"],
        output=report_uri,
        details={"warnings": [c.name for c in report.failed("warning")]},
    )
