"""Bronze records -> typed, cleaned, de-duplicated silver rows. Pure DataFrame functions, no I/O.

The flow is ``flag_breweries``: ``prepare_breweries`` does the work on each record alone (normalize,
flag invalid rows, add ingestion metadata and a row id), ``flag_duplicate_ids`` the work across
records. The silver stage runs the same two steps with their outputs cached in between. Then
``silver_rows`` / ``quarantined_rows`` split the flagged frame in two, so that every bronze record
lands in exactly one of them.
"""

from __future__ import annotations

import operator
from datetime import date, datetime
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from breweries.api.fields import API_FIELDS, FIELD_DESCRIPTIONS

CORRUPT_RECORD = "_corrupt_record"
SOURCE_FILE = "source_file"
QUARANTINE_REASON = "quarantine_reason"
ROW_ID = "row_id"
_LOSER = "_duplicate_loser"
COORDINATES = ("longitude", "latitude")
TEXT_FIELDS = tuple(f for f in API_FIELDS if f not in COORDINATES)

# Everything as text: a coordinate may arrive as a JSON number or a string, and a field of the
# wrong type must not fail the whole page. Typing happens in normalize_breweries.
BRONZE_SCHEMA = StructType(
    [StructField(name, StringType()) for name in API_FIELDS] + [StructField(CORRUPT_RECORD, StringType())]
)


# Silver's columns in file order. country and state are the partition columns (state is the
# API's state_province; the API's deprecated `state` copy holds the same value), so they come last,
# where Spark puts partition columns when it reads the table back.
# Every column carries its comment (the tables' column comments).
def _field(name: str, data_type: DataType, comment: str = "", nullable: bool = True) -> StructField:
    return StructField(name, data_type, nullable, {"comment": comment or FIELD_DESCRIPTIONS[name]})


_BRONZE_PAGE = "the bronze page (1-based) the record was read from"
_INGEST_DATE = "the date of the bronze crawl"
SILVER_SCHEMA = StructType(
    [
        _field("id", StringType(), nullable=False),
        *(_field(name, StringType()) for name in TEXT_FIELDS if name not in ("id", "country", "state")),
        _field("longitude", DoubleType()),
        _field("latitude", DoubleType()),
        _field("bronze_page", IntegerType(), _BRONZE_PAGE),
        _field("ingest_date", DateType(), _INGEST_DATE),
        _field("fetched_at", TimestampType(), "when the crawl started (UTC)"),
        _field("country", StringType()),
        _field("state", StringType()),
    ]
)

QUARANTINE_SCHEMA = StructType(
    [
        _field(
            QUARANTINE_REASON, StringType(), "malformed_record, missing_id or duplicate_id", nullable=False
        ),
        _field("id", StringType(), "the record's id, when it has one"),
        _field("bronze_page", IntegerType(), _BRONZE_PAGE),
        _field("record", StringType(), "the record as received (JSON text)"),
        _field("ingest_date", DateType(), _INGEST_DATE),
    ]
)

# Quarantine reasons.
MALFORMED_RECORD = "malformed_record"
MISSING_ID = "missing_id"
DUPLICATE_ID = "duplicate_id"


# ASCII whitespace plus every Unicode space separator, categories Zs, Zl and Zp (no-break space,
# ideographic space, ...), which Spark's plain trim() leaves in place. Written out, because deriving
# it scans every code point at every command's start; a unit test derives it and compares.
WHITESPACE = (
    "\t\n\x0b\x0c\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


# Each value is trimmed and parsed once: nullif and nanvl evaluate their argument a single time,
# where when(x ...).otherwise(x) would compute x again for every reference.
def _clean_text(column: Column) -> Column:
    # A character set, not a regular expression: it runs on 14 columns of every row.
    return F.nullif(F.btrim(column, F.lit(WHITESPACE)), F.lit(""))


def _coordinate(column: Column) -> Column:
    """A number or numeric string -> double; garbage, NaN and infinities -> null."""
    value = F.nanvl(_clean_text(column).try_cast(DoubleType()), F.lit(None).cast(DoubleType()))
    return F.nullif(F.nullif(value, F.lit(float("inf"))), F.lit(float("-inf")))


def normalize_breweries(bronze: DataFrame) -> DataFrame:
    """Trim text (empty -> null), lower-case brewery_type, type coordinates, fill state_province."""
    columns = {name: _clean_text(F.col(name)) for name in TEXT_FIELDS}
    columns["brewery_type"] = F.lower(columns["brewery_type"])
    # state_province is the current field; older records may only carry the deprecated copy.
    columns["state_province"] = F.coalesce(columns["state_province"], columns["state"])
    columns["state"] = columns["state_province"]
    columns.update({name: _coordinate(F.col(name)) for name in COORDINATES})
    return bronze.withColumns(columns)


def flag_invalid_records(breweries: DataFrame) -> DataFrame:
    """Add ``quarantine_reason``: malformed_record or missing_id, null for a usable record."""
    reason = (
        F.when(F.col(CORRUPT_RECORD).isNotNull(), F.lit(MALFORMED_RECORD))
        .when(F.col("id").isNull(), F.lit(MISSING_ID))
        .otherwise(F.lit(None).cast(StringType()))
    )
    return breweries.withColumn(QUARANTINE_REASON, reason)


def with_ingestion_metadata(breweries: DataFrame, ingest_date: date, fetched_at: datetime) -> DataFrame:
    """Which bronze page each row came from, the date it was ingested for, when it was fetched."""
    page = F.regexp_extract(F.col(SOURCE_FILE), r"page(?:=|%3D)(\d+)\.json$", 1)
    return breweries.withColumns(
        {
            "bronze_page": F.when(page != "", page.cast(IntegerType())),
            "ingest_date": F.lit(ingest_date).cast(DateType()),
            "fetched_at": F.lit(fetched_at).cast(TimestampType()),
        }
    )


def with_row_ids(breweries: DataFrame) -> DataFrame:
    """A number per row, so that the few rows de-duplication rejects can be found again by a join.

    The numbers come from the row's position in its input partition: read the frame the same way
    each time (the silver stage caches it) and they stay the same.
    """
    return breweries.withColumn(ROW_ID, F.monotonically_increasing_id())


def prepare_breweries(bronze: DataFrame, ingest_date: date, fetched_at: datetime) -> DataFrame:
    """The work done on each record alone: normalized, invalid ones flagged, page, dates, row id."""
    return (
        bronze.transform(normalize_breweries)
        .transform(flag_invalid_records)
        .transform(with_ingestion_metadata, ingest_date, fetched_at)
        .transform(with_row_ids)
    )


def duplicate_losers(breweries: DataFrame) -> DataFrame:
    """The ``row_id`` of every usable row whose id another usable row keeps.

    The winner depends only on content, never on page order or partitioning: the most complete
    record (most non-null fields) wins; a tie goes to the smallest SHA-256 of the record's JSON.
    Only the rows of repeated ids are ranked: a count of the id column alone finds those ids, so
    the wide rows are neither shuffled nor sorted. The repeated ids are broadcast: they are the
    source's paging artefacts, a small fraction of its records.
    """
    usable = breweries.filter(F.col(QUARANTINE_REASON).isNull())
    repeated = usable.groupBy("id").count().filter(F.col("count") > 1).select("id")
    completeness = reduce(operator.add, (F.col(name).isNotNull().cast("int") for name in API_FIELDS))
    content_hash = F.sha2(F.to_json(F.struct(*API_FIELDS)), 256)
    rank = F.row_number().over(Window.partitionBy("id").orderBy(completeness.desc(), content_hash.asc()))
    candidates = usable.join(F.broadcast(repeated), "id", "left_semi")
    return candidates.select(ROW_ID, rank.alias("rank")).filter(F.col("rank") > 1).select(ROW_ID)


def flag_duplicates(breweries: DataFrame, losers: DataFrame) -> DataFrame:
    """Set ``quarantine_reason`` to duplicate_id on the rows ``losers`` names; drop the row ids."""
    marked = losers.withColumn(_LOSER, F.lit(True))
    reason = F.when(F.col(_LOSER), F.lit(DUPLICATE_ID)).otherwise(F.col(QUARANTINE_REASON))
    joined = breweries.join(F.broadcast(marked), ROW_ID, "left")
    return joined.withColumn(QUARANTINE_REASON, reason).drop(_LOSER, ROW_ID)


def flag_duplicate_ids(breweries: DataFrame) -> DataFrame:
    """Keep one record per id and flag the rest ``duplicate_id`` (see ``duplicate_losers``).

    ``breweries`` carries the ``row_id`` of ``with_row_ids``: the losers are found again by it.
    """
    return flag_duplicates(breweries, duplicate_losers(breweries))


def flag_breweries(bronze: DataFrame, ingest_date: date, fetched_at: datetime) -> DataFrame:
    """Every bronze record, normalized, with ``quarantine_reason`` set where it cannot enter silver."""
    return prepare_breweries(bronze, ingest_date, fetched_at).transform(flag_duplicate_ids)


def silver_rows(flagged: DataFrame) -> DataFrame:
    usable = flagged.filter(F.col(QUARANTINE_REASON).isNull())
    return usable.select(*(F.col(f.name).cast(f.dataType) for f in SILVER_SCHEMA.fields))


def quarantined_rows(flagged: DataFrame) -> DataFrame:
    rejected = flagged.filter(F.col(QUARANTINE_REASON).isNotNull())
    record = F.coalesce(F.col(CORRUPT_RECORD), F.to_json(F.struct(*API_FIELDS)))
    return rejected.select(QUARANTINE_REASON, "id", "bronze_page", record.alias("record"), "ingest_date")
