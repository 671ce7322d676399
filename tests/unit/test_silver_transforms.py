"""Silver transformations on small frames that carry the snapshot's real quirks."""

from __future__ import annotations

import sys
import unicodedata
from datetime import date, datetime

import pytest
from chispa import assert_df_equality
from pyspark.sql.types import StringType, StructField, StructType

from breweries.transforms.silver import (
    BRONZE_SCHEMA,
    CORRUPT_RECORD,
    DUPLICATE_ID,
    MALFORMED_RECORD,
    MISSING_ID,
    QUARANTINE_REASON,
    SILVER_SCHEMA,
    SOURCE_FILE,
    WHITESPACE,
    flag_breweries,
    flag_duplicate_ids,
    flag_invalid_records,
    normalize_breweries,
    quarantined_rows,
    silver_rows,
    with_row_ids,
)

PAGE = "file:///data/bronze/breweries/ingest_date=2026-01-01/page=0007.json"


def bronze(spark, *records: dict):
    """A bronze frame as the reader returns it: every API field as text, plus the source file."""
    schema = StructType([*BRONZE_SCHEMA.fields, StructField(SOURCE_FILE, StringType())])
    rows = [{CORRUPT_RECORD: None, SOURCE_FILE: PAGE, **record} for record in records]
    return spark.createDataFrame([tuple(r.get(f) for f in schema.names) for r in rows], schema)


def test_whitespace_is_ascii_whitespace_and_every_unicode_space_separator():
    separators = (
        c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(c) in ("Zs", "Zl", "Zp")
    )
    assert sorted(WHITESPACE) == sorted("\t\n\x0b\x0c\r" + "".join(separators))


def test_normalize_trims_nulls_empty_text_and_lowercases_type(spark):
    raw = bronze(
        spark,
        {"id": " a1 ", "name": "\u00a0’t Drankorgel  ", "brewery_type": "MICRO", "phone": "", "city": "\t"},
    )
    row = normalize_breweries(raw).first()
    assert (row["id"], row["name"], row["brewery_type"]) == ("a1", "’t Drankorgel", "micro")
    assert row["phone"] is None  # empty string -> null
    assert row["city"] is None  # only whitespace -> null


def test_normalize_types_coordinates_from_numbers_strings_and_garbage(spark):
    raw = bronze(
        spark,
        {"id": "num", "longitude": "11.327765", "latitude": "50.241246"},
        {"id": "str", "longitude": " -97.46818222 ", "latitude": "35.25738891"},
        {"id": "bad", "longitude": "east-ish", "latitude": "NaN"},
        {"id": "none", "longitude": None, "latitude": ""},
        {"id": "inf", "longitude": "Infinity", "latitude": " -inf "},
        {"id": "zero", "longitude": "0", "latitude": "-0.0"},
    )
    actual = normalize_breweries(raw).select("id", "longitude", "latitude")
    expected = spark.createDataFrame(
        [
            ("num", 11.327765, 50.241246),
            ("str", -97.46818222, 35.25738891),
            ("bad", None, None),
            ("none", None, None),
            ("inf", None, None),
            ("zero", 0.0, -0.0),
        ],
        "id string, longitude double, latitude double",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_normalize_fills_state_province_from_the_deprecated_state(spark):
    raw = bronze(
        spark,
        {"id": "old", "state_province": None, "state": "Bayern"},
        {"id": "new", "state_province": "Vlaanderen", "state": None},
    )
    actual = normalize_breweries(raw).select("id", "state_province", "state")
    expected = spark.createDataFrame(
        [("old", "Bayern", "Bayern"), ("new", "Vlaanderen", "Vlaanderen")],
        "id string, state_province string, state string",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_invalid_records_are_flagged_with_their_reason(spark):
    raw = bronze(
        spark,
        {"id": "ok", "name": "Good"},
        {"id": "  ", "name": "Blank id"},
        {"id": None, "name": "No id"},
        {CORRUPT_RECORD: '{"id": "broken"'},
    )
    actual = flag_invalid_records(normalize_breweries(raw)).select("name", QUARANTINE_REASON)
    expected = spark.createDataFrame(
        [("Good", None), ("Blank id", MISSING_ID), ("No id", MISSING_ID), (None, MALFORMED_RECORD)],
        f"name string, {QUARANTINE_REASON} string",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_duplicate_ids_keep_the_most_complete_record_whatever_the_order(spark, order):
    copies = [
        {"id": "dup", "name": "Sparse", "city": None, "phone": None},
        {"id": "dup", "name": "Complete", "city": "Mol", "phone": "+32 496"},
        {"id": "dup", "name": "Middle", "city": "Mol", "phone": None},
    ]
    raw = bronze(spark, *(copies[i] for i in order), {"id": "solo", "name": "Solo"})
    flagged = flag_duplicate_ids(with_row_ids(flag_invalid_records(normalize_breweries(raw))))
    actual = flagged.select("name", QUARANTINE_REASON)
    expected = spark.createDataFrame(
        [("Complete", None), ("Sparse", DUPLICATE_ID), ("Middle", DUPLICATE_ID), ("Solo", None)],
        f"name string, {QUARANTINE_REASON} string",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_equally_complete_duplicates_resolve_by_content_not_by_position(spark):
    a = {"id": "dup", "name": "Alpha", "city": "Kronach"}
    b = {"id": "dup", "name": "Beta", "city": "Kronach"}
    winners = {
        flag_duplicate_ids(with_row_ids(flag_invalid_records(normalize_breweries(bronze(spark, *pair)))))
        .filter(f"{QUARANTINE_REASON} is null")
        .first()["name"]
        for pair in ((a, b), (b, a))
    }
    assert len(winners) == 1


def test_every_bronze_record_lands_in_silver_or_quarantine(spark):
    raw = bronze(
        spark,
        {"id": "a", "name": "Thüringer Brauhaus", "country": "Germany", "state_province": "Thüringen"},
        {"id": "a", "name": "Thüringer Brauhaus", "country": "Germany", "state_province": "Thüringen"},
        {"id": "b", "name": "MIssouri Brewing", "country": "United States", "state_province": "MIssouri"},
        {"id": None, "name": "Nameless"},
        {CORRUPT_RECORD: "[{oops"},
    )
    flagged = flag_breweries(raw, date(2026, 1, 1), datetime(2026, 1, 1, 6, 0))
    silver, quarantine = silver_rows(flagged), quarantined_rows(flagged)
    assert silver.count() + quarantine.count() == raw.count()
    assert sorted(r.id for r in silver.collect()) == ["a", "b"]
    reasons = sorted(r[QUARANTINE_REASON] for r in quarantine.collect())
    assert reasons == [DUPLICATE_ID, MALFORMED_RECORD, MISSING_ID]
    assert quarantine.filter(f"{QUARANTINE_REASON} = '{MALFORMED_RECORD}'").first()["record"] == "[{oops"


def test_silver_rows_have_the_silver_schema_and_ingestion_metadata(spark):
    raw = bronze(
        spark, {"id": "a", "country": "Belgium", "state_province": "Vlaanderen", "latitude": "51.17"}
    )
    silver = silver_rows(flag_breweries(raw, date(2026, 1, 1), datetime(2026, 1, 1, 6, 30)))
    assert [f.name for f in silver.schema] == SILVER_SCHEMA.names
    row = silver.first()
    assert (row.bronze_page, row.ingest_date, row.fetched_at) == (
        7,
        date(2026, 1, 1),
        datetime(2026, 1, 1, 6, 30),
    )
    assert (row.country, row.state, row.latitude) == ("Belgium", "Vlaanderen", 51.17)
