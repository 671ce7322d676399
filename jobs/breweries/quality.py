"""The data-quality gate: where quality is decided.

Which checks there are, at what severity, what passes, the report and reading it back all live here.
The rules are pure Python over the numbers ``transforms.quality.quality_metrics`` measures in Spark
and the counts the bronze manifest and the quarantine table hold, so each rule is testable without
Spark; ``stages.quality`` wires them together, writes the report and stops the run when it fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from breweries.layout import Layout
from breweries.storage import Store

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class SourceCounts:
    """What the source delivered and what silver set aside, counted outside the silver table."""

    bronze_records: int  # records in the bronze pages (the manifest), equal to the API's meta total
    quarantined: int  # unparseable records or records without id
    duplicates_removed: int  # extra copies of an id
    unexpected_fields: tuple[str, ...] = ()  # keys the source sent that silver does not keep
    missing_fields: tuple[str, ...] = ()  # documented fields no record carried


@dataclass(frozen=True)
class CheckResult:
    name: str
    severity: str
    passed: bool
    observed: int
    expected: str
    message: str


@dataclass(frozen=True)
class QualityReport:
    run_date: str
    checks: tuple[CheckResult, ...]
    metrics: dict[str, int] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failed(ERROR)

    def failed(self, severity: str) -> list[CheckResult]:
        return [c for c in self.checks if c.severity == severity and not c.passed]

    def failure_details(self, report_uri: str) -> dict[str, Any]:
        """What on call needs from a failed gate: each failed error check with its counts, the report."""
        return {
            "failed_checks": [
                {"name": c.name, "observed": c.observed, "expected": c.expected, "message": c.message}
                for c in self.failed(ERROR)
            ],
            "report": report_uri,
        }

    def failed_errors_text(self) -> str:
        """The failed error-level checks as ``name (message), ...``, for messages to people."""
        return ", ".join(f"{c.name} ({c.message})" for c in self.failed(ERROR))

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "run_date": self.run_date,
            "status": "passed" if self.passed else "failed",
            "errors": len(self.failed(ERROR)),
            "warnings": len(self.failed(WARNING)),
            "checks": [asdict(c) for c in self.checks],
            "metrics": self.metrics,
            "source": self.source,
        }
        return json.dumps(document, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> QualityReport:
        document = json.loads(data)
        checks = tuple(CheckResult(**c) for c in document["checks"])
        return cls(document["run_date"], checks, document["metrics"], document["source"])

    def summary(self) -> str:
        lines = [f"data quality for {self.run_date}: {'PASSED' if self.passed else 'FAILED'}"]
        for c in self.checks:
            verdict = "ok  " if c.passed else ("FAIL" if c.severity == ERROR else "warn")
            lines.append(f"  {verdict} {c.name:<26} {c.message}")
        return "\n".join(lines)


def _check(name: str, severity: str, observed: int, expected: int, what: str) -> CheckResult:
    passed = observed == expected
    message = f"{observed} {what}" if passed else f"{observed} {what}, expected {expected}"
    return CheckResult(name, severity, passed, observed, f"== {expected}", message)


def _schema_check(source: SourceCounts) -> CheckResult:
    drift = len(source.unexpected_fields) + len(source.missing_fields)
    parts = [
        f"{what} fields: {', '.join(names)}"
        for what, names in (("unexpected", source.unexpected_fields), ("missing", source.missing_fields))
        if names
    ]
    message = "; ".join(parts) if parts else "every record as documented, no unexpected field"
    return CheckResult("schema_as_documented", WARNING, drift == 0, drift, "== 0", message)


def evaluate_quality(metrics: Mapping[str, int], source: SourceCounts, run_date: str) -> QualityReport:
    rows = metrics["row_count"]
    expected_rows = source.bronze_records - source.quarantined - source.duplicates_removed
    not_empty = CheckResult(
        "table_not_empty",
        ERROR,
        rows > 0,
        rows,
        "> 0",
        f"{rows} rows" if rows else "silver is empty: the source served no usable brewery",
    )
    checks = (
        not_empty,
        _check("no_null_id", ERROR, metrics["null_id_count"], 0, "rows without id"),
        _check("no_duplicate_id", ERROR, metrics["duplicate_id_count"], 0, "duplicate ids"),
        _check(
            "complete_against_source",
            ERROR,
            rows,
            expected_rows,
            f"rows ({source.bronze_records} from the source - {source.quarantined} quarantined "
            f"- {source.duplicates_removed} duplicates)",
        ),
        _check("known_brewery_type", WARNING, metrics["unknown_type_count"], 0, "unknown brewery types"),
        _check(
            "coordinates_in_range",
            WARNING,
            metrics["coordinates_out_of_range_count"],
            0,
            "rows with coordinates out of range",
        ),
        _check("country_present", WARNING, metrics["missing_country_count"], 0, "rows without country"),
        _schema_check(source),
    )
    counts = asdict(source)
    for name in ("unexpected_fields", "missing_fields"):  # lists, as JSON gives them back
        counts[name] = list(counts[name])
    return QualityReport(run_date, checks, dict(metrics), counts)


def read_report(store: Store, layout: Layout, run_date: date) -> tuple[QualityReport, str] | None:
    """The gate's report for ``run_date`` and where it lives; None when the gate has not run for it."""
    uri = layout.quality_report_uri(run_date)
    if not store.exists(uri):
        return None
    return QualityReport.from_json(store.read_bytes(uri)), uri
