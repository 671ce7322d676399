"""Silver, the quarantine and gold as the first pipeline version computed them, on awkward input.

The reference below is that version's de-duplication, kept verbatim: one window over every row,
partitioned by id and usability. The pipeline's own transforms must give the same tables from the
same bronze, whatever they do to get there faster.
"""

from __future__ import annotations

import operator
import random
from datetime import date, datetime
from functools import reduce

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from breweries.api.fields import API_FIELDS
from breweries.transforms.gold import brewery_counts_by_type_and_location
from breweries.transforms.silver import (
    BRONZE_SCHEMA,
    CORRUPT_RECORD,
    DUPLICATE_ID,
    MALFORMED_RECORD,
    MISSING_ID,
    QUARANTINE_REASON,
    SOURCE_FILE,
    flag_breweries,
    flag_invalid_records,
    normalize_breweries,
    quarantined_rows,
    silver_rows,
    with_ingestion_metadata,
)

INGEST_DATE, FETCHED_AT = date(2026, 1, 1), datetime(2026, 1, 1, 6, 0)


def reference_flag_duplicate_ids(breweries: DataFrame) -> DataFrame:
    """The first version's de-duplication: rank every row within its id, usable rows apart."""
    completeness = reduce(operator.add, (F.col(name).isNotNull().cast("int") for name in API_FIELDS))
    content_hash = F.sha2(F.to_json(F.struct(*API_FIELDS)), 256)
    usable = F.col(QUARANTINE_REASON).isNull()
    rank = F.row_number().over(
        Window.partitionBy(F.col("id"), usable).orderBy(completeness.desc(), content_hash.asc())
    )
    return breweries.withColumn(
        QUARANTINE_REASON,
        F.when(usable & (rank > 1), F.lit(DUPLICATE_ID)).otherwise(F.col(QUARANTINE_REASON)),
    )


def reference_flag_breweries(bronze: DataFrame) -> DataFrame:
    return (
        bronze.transform(normalize_breweries)
        .transform(flag_invalid_records)
        .transform(reference_flag_duplicate_ids)
        .transform(with_ingestion_metadata, INGEST_DATE, FETCHED_AT)
    )


def awkward_bronze(spark, snapshot) -> DataFrame:
    """Snapshot records over five pages, with every case de-duplication and quarantine must handle.

    Repeated ids with other contents (more and less complete, equally complete), exact copies on
    one page, ids that differ only by whitespace, null and blank ids, malformed pages, and a
    malformed record that carries a repeated id. Exact copies on different pages are left out: which
    copy wins there (and so which page silver names) was never defined.
    """
    rng = random.Random(11)
    records: list[dict] = []
    for i, brewery in enumerate(rng.sample(snapshot, 600)):
        record = {name: brewery.get(name) for name in API_FIELDS}
        record = {k: (v if v is None else str(v)) for k, v in record.items()}
        records.append({**record, SOURCE_FILE: f"file:///b/page={i % 5 + 1:04d}.json"})
    repeated = [r["id"] for r in records[:40]]
    for n, rid in enumerate(repeated):
        # Odd: another brewery, more or less complete. Even: as complete, the content hash decides.
        other = dict(rng.choice(records)) if n % 2 else {**records[n], "name": f"Twin {n}"}
        other["id"] = rid if n % 4 else f"  {rid}\u00a0"  # the same id once trimmed
        if n % 3 == 0:
            other["phone"] = None  # less complete
        records.append(other)
        if n % 7 == 0:
            records.append(dict(other))  # an exact copy on the same page
    for n in range(12):
        extra = dict(rng.choice(records))
        extra["id"] = None if n % 2 else " \t"
        records.append(extra)
    records.append({CORRUPT_RECORD: '[{"id": "broken"', SOURCE_FILE: "file:///b/page=0006.json"})
    records.append({CORRUPT_RECORD: "not json", "id": repeated[1], SOURCE_FILE: "file:///b/page=0007.json"})
    schema = StructType([*BRONZE_SCHEMA.fields, StructField(SOURCE_FILE, StringType())])
    rows = [tuple(r.get(f) for f in schema.names) for r in records]
    # Several input partitions, so that rows of one id start out on different ones.
    return spark.createDataFrame(rows, schema).repartition(4)


@pytest.fixture(scope="module")
def outputs(spark, snapshot):
    bronze = awkward_bronze(spark, snapshot).cache()
    expected = reference_flag_breweries(bronze)
    actual = flag_breweries(bronze, INGEST_DATE, FETCHED_AT)
    yield expected, actual
    bronze.unpersist()


def test_the_input_exercises_every_reason(outputs):
    expected, _ = outputs
    counts = expected.groupBy(QUARANTINE_REASON).count().collect()
    reasons = {r[QUARANTINE_REASON]: r["count"] for r in counts}
    assert reasons[DUPLICATE_ID] > 40 and reasons[MISSING_ID] == 12 and reasons[MALFORMED_RECORD] == 2


def test_silver_is_the_reference_silver(outputs):
    expected, actual = outputs
    assert_df_equality(silver_rows(actual), silver_rows(expected), ignore_row_order=True)


def test_the_quarantine_is_the_reference_quarantine(outputs):
    expected, actual = outputs
    assert_df_equality(quarantined_rows(actual), quarantined_rows(expected), ignore_row_order=True)


def test_gold_is_the_reference_gold(outputs):
    expected, actual = outputs
    assert_df_equality(
        brewery_counts_by_type_and_location(silver_rows(actual)),
        brewery_counts_by_type_and_location(silver_rows(expected)),
        ignore_row_order=True,
    )
