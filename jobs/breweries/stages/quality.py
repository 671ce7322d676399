"""Data quality: the gate between audited silver and everything published from it.

It reads silver and the quarantine as the silver stage committed them to the audit branch, writes
its checks (a report and the ``silver.quality_checks`` table) and stops the run when they fail.
When it passes, the runner publishes the audited bronze and silver.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, LongType, StringType, StructField, StructType

from breweries.errors import DataQualityError
from breweries.lake.tables import Table
from breweries.layout import MANIFEST_NAME
from breweries.manifest import load_manifest
from breweries.quality import QualityReport, SourceCounts, evaluate_quality
from breweries.stages.base import StageContext, StageResult
from breweries.stages.silver import QUARANTINE, SILVER
from breweries.storage import join_uri
from breweries.tables import count_by
from breweries.transforms.quality import quality_metrics
from breweries.transforms.silver import DUPLICATE_ID, QUARANTINE_REASON

QUALITY_CHECKS = Table(
    "silver",
    "quality_checks",
    StructType(
        [
            StructField("check", StringType(), False, {"comment": "the check's name (docs/pipeline.md)"}),
            StructField("severity", StringType(), False, {"comment": "error (fails the gate) or warning"}),
            StructField("passed", BooleanType(), False, {"comment": "whether the check passed"}),
            StructField("observed", LongType(), True, {"comment": "the value the check measured"}),
            StructField("expected", StringType(), True, {"comment": "what the check expects"}),
            StructField("detail", StringType(), True, {"comment": "what the check found, in words"}),
        ]
    ),
    "The data-quality gate's checks, one row per check and run date",
)


def run(ctx: StageContext) -> StageResult:
    day = ctx.run_date
    metrics = quality_metrics(ctx.read(SILVER)).collect()[0].asDict()  # one row, the aggregate
    # Counted from the manifest and the quarantine table, not from what silver says of itself.
    quarantined = count_by(ctx.read(QUARANTINE), QUARANTINE_REASON)
    duplicates = quarantined.pop(DUPLICATE_ID, 0)
    manifest = load_manifest(ctx.store, join_uri(ctx.bronze_uri, MANIFEST_NAME))
    source = SourceCounts(
        bronze_records=manifest.record_count,
        quarantined=sum(quarantined.values()),
        duplicates_removed=duplicates,
        unexpected_fields=manifest.unexpected_fields,
        missing_fields=manifest.missing_fields,
    )
    report = evaluate_quality(metrics, source, day.isoformat())
    report_uri = ctx.layout.quality_report_uri(day)
    ctx.store.write_bytes(report_uri, report.to_json())
    ctx.write(QUALITY_CHECKS, _check_rows(ctx, report))
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


def _check_rows(ctx: StageContext, report: QualityReport) -> DataFrame:
    # Literals, not createDataFrame: rows from a Python list are an RDD that starts a Python worker
    # when written, the only one a whole run would start.
    fields = QUALITY_CHECKS.columns.fields
    rows = [
        F.struct(
            *(
                F.lit(value).cast(field.dataType).alias(field.name)
                for value, field in zip(
                    (c.name, c.severity, c.passed, c.observed, c.expected, c.message), fields, strict=True
                )
            )
        )
        for c in report.checks
    ]
    return ctx.spark.range(1).select(F.explode(F.array(*rows)).alias("check")).select("check.*")
