"""What the CLI prints for people: aligned tables, gold's top rows, the quality summary, status."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from breweries.lake.query import TableInfo
from breweries.quality import QualityReport
from breweries.state import StageRun


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Aligned plain-text columns; numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [
        any(isinstance(r[i], int | float) for r in rows)
        and all(isinstance(r[i], int | float) or r[i] == "" for r in rows)
        for i in range(len(headers))
    ]
    return "\n".join(
        "  "
        + "  ".join(
            c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric, strict=True)
        ).rstrip()
        for row in cells
    )


def gold_summary(gold: DataFrame, run_date: date, served: int) -> str:
    """Gold's ten largest counts and the sum of all, next to how many breweries were served."""
    top = gold.orderBy(F.desc("brewery_count"), "country", "state", "brewery_type").limit(10).collect()
    total = gold.agg(F.sum("brewery_count").alias("total")).collect()[0]["total"]
    columns = ("country", "state", "brewery_type", "brewery_count")
    return "\n".join(
        [
            f"gold: breweries_by_type_location for {run_date} (top 10 of {gold.count()} rows)",
            format_table(columns, [[row[c] for c in columns] for row in top]),
            f"  sum of brewery_count: {total} (the replay served {served})",
        ]
    )


def quality_summary(report: QualityReport, report_uri: str) -> str:
    return f"{report.summary()}\n  report: {report_uri}"


def status_table(runs: Mapping[str, StageRun | None]) -> str:
    """The "parameters" table: one row per stage, in pipeline order, done or not."""
    columns = (
        "stage",
        "run_date",
        "finished_at (UTC)",
        "duration_s",
        "rows_in",
        "rows_out",
        "output",
        "snapshots",
    )
    rows: list[list[object]] = [
        [stage, "-", "not done", "", "", "", "", ""]
        if run is None
        else [
            run.stage,
            run.run_date,
            run.finished_at[:19].replace("T", " "),
            round(run.duration_seconds, 1),
            run.rows_in,
            run.rows_out,
            run.output,
            ", ".join(f"{table}@{snapshot}" for table, snapshot in run.snapshots.items()),
        ]
        for stage, run in runs.items()
    ]
    return format_table(columns, rows)


def tables_output(tables: Sequence[TableInfo], output_format: str) -> str:
    if output_format == "json":
        return json.dumps([asdict(t) for t in tables], indent=2)
    columns = ("identifier", "snapshot_id", "rows", "metadata_location")
    return format_table(columns, [[getattr(t, c) for c in columns] for t in tables])


def query_output(columns: Sequence[str], rows: Sequence[Sequence[Any]], output_format: str) -> str:
    if output_format == "json":
        return json.dumps([dict(zip(columns, row, strict=True)) for row in rows], indent=2, default=str)
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    return format_table(columns, rows)
