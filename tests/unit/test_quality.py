"""The data-quality gate: what it measures in Spark and how it judges the numbers."""

from __future__ import annotations

import json

import pytest
from chispa import assert_df_equality

from breweries.quality import ERROR, WARNING, QualityReport, SourceCounts, evaluate_quality
from breweries.transforms.quality import quality_metrics

METRIC_COLUMNS = (
    "row_count long, null_id_count long, duplicate_id_count long, unknown_type_count long, "
    "coordinates_out_of_range_count long, missing_country_count long"
)


def test_metrics_count_every_problem_in_one_row(spark):
    silver = spark.createDataFrame(
        [
            ("a", "micro", 50.2, 11.3, "Germany"),
            ("a", "micro", 50.2, 11.3, "Germany"),  # duplicate id
            (None, "brewpub", None, None, "Belgium"),  # null id
            ("b", "spaceship", 91.0, 0.0, None),  # unknown type, latitude out of range, no country
            ("c", None, 0.0, -181.0, "Ireland"),  # no type, longitude out of range
        ],
        "id string, brewery_type string, latitude double, longitude double, country string",
    )
    expected = spark.createDataFrame([(5, 1, 1, 2, 2, 1)], METRIC_COLUMNS)
    assert_df_equality(quality_metrics(silver), expected, ignore_nullable=True)


def test_metrics_of_an_empty_table_are_zero(spark):
    empty = spark.createDataFrame(
        [], "id string, brewery_type string, latitude double, longitude double, country string"
    )
    expected = spark.createDataFrame([(0, 0, 0, 0, 0, 0)], METRIC_COLUMNS)
    assert_df_equality(quality_metrics(empty), expected, ignore_nullable=True)


CLEAN = {
    "row_count": 100,
    "null_id_count": 0,
    "duplicate_id_count": 0,
    "unknown_type_count": 0,
    "coordinates_out_of_range_count": 0,
    "missing_country_count": 0,
}


def failed(report: QualityReport, severity: str) -> list[str]:
    return [c.name for c in report.failed(severity)]


def test_clean_data_passes_when_rows_match_the_source_minus_what_was_set_aside():
    report = evaluate_quality(CLEAN, SourceCounts(104, quarantined=3, duplicates_removed=1), "2026-01-01")
    assert report.passed and not failed(report, WARNING)


@pytest.mark.parametrize(
    ("change", "source", "failing"),
    [
        ({"row_count": 0}, SourceCounts(0, 0, 0), ["table_not_empty"]),
        ({"null_id_count": 2}, SourceCounts(100, 0, 0), ["no_null_id"]),
        ({"duplicate_id_count": 1}, SourceCounts(100, 0, 0), ["no_duplicate_id"]),
        ({}, SourceCounts(101, 0, 0), ["complete_against_source"]),
        ({}, SourceCounts(100, 1, 0), ["complete_against_source"]),
    ],
)
def test_each_error_check_fails_the_gate(change, source, failing):
    report = evaluate_quality({**CLEAN, **change}, source, "2026-01-01")
    assert not report.passed
    assert failed(report, ERROR) == failing


def test_warnings_are_reported_but_do_not_fail_the_gate():
    metrics = {
        **CLEAN,
        "unknown_type_count": 3,
        "coordinates_out_of_range_count": 1,
        "missing_country_count": 2,
    }
    report = evaluate_quality(metrics, SourceCounts(100, 0, 0), "2026-01-01")
    assert report.passed
    assert failed(report, WARNING) == ["known_brewery_type", "coordinates_in_range", "country_present"]


def test_report_round_trips_through_json_with_counts():
    report = evaluate_quality({**CLEAN, "row_count": 0}, SourceCounts(0, 0, 0), "2026-01-01")
    document = json.loads(report.to_json())
    assert document["status"] == "failed" and document["errors"] == 1
    assert document["source"] == {
        "bronze_records": 0,
        "quarantined": 0,
        "duplicates_removed": 0,
        "unexpected_fields": [],
        "missing_fields": [],
    }
    assert QualityReport.from_json(report.to_json()) == report


def test_schema_drift_seen_at_the_source_is_a_warning_naming_the_fields():
    source = SourceCounts(10, 0, 0, unexpected_fields=("rating", "tags"), missing_fields=("phone",))
    report = evaluate_quality(CLEAN | {"row_count": 10}, source, "2026-01-01")
    (drift,) = report.failed(WARNING)
    assert (drift.name, drift.observed) == ("schema_as_documented", 3)
    assert drift.message == "unexpected fields: rating, tags; missing fields: phone"
    assert report.passed and QualityReport.from_json(report.to_json()) == report
