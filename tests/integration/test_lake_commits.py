"""The lake layer on a real Iceberg catalog (SQLite, JDBC): one commit per date, write-audit-publish,
concurrent commits, schema evolution; read back by PyIceberg, an engine other than the writer."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date

import pytest
from chispa import assert_df_equality
from pyiceberg.catalog.sql import SqlCatalog
from pyspark.sql.types import LongType, StringType, StructField, StructType

from breweries.errors import TableSchemaError
from breweries.lake.commits import Lake, audit_branch
from breweries.settings import Settings
from breweries.stages.gold import GOLD

DAY, OTHER_DAY = date(2026, 1, 1), date(2026, 1, 2)


@pytest.fixture
def lake(spark, tmp_path) -> Lake:
    return Lake(spark, Settings(storage_root=str(tmp_path)))


def counts(spark, rows: list[tuple[str, str, str, int]]):
    return spark.createDataFrame(rows, GOLD.columns)


def pyiceberg_rows(root, day: date, snapshot_id: int | None = None) -> set[tuple]:
    catalog = SqlCatalog("lake", uri=f"sqlite:///{root}/_catalog/iceberg.db", warehouse=f"file://{root}")
    table = catalog.load_table(GOLD.identifier)
    scan = table.scan(row_filter=f"snapshot_date == '{day.isoformat()}'", snapshot_id=snapshot_id)
    return {tuple(r.values()) for r in scan.to_arrow().select(GOLD.columns.names).to_pylist()}


def test_a_write_replaces_exactly_its_date_in_one_commit(lake, spark, tmp_path):
    lake.write(GOLD, counts(spark, [("OR", "micro", 2, "US"), ("CA", "micro", 3, "US")]), DAY, "r1")
    lake.write(GOLD, counts(spark, [("Bayern", "brewpub", 9, "DE")]), OTHER_DAY, "r2")
    before = spark.sql(f"SELECT count(*) AS n FROM {lake.name(GOLD)}.snapshots").first()["n"]
    commit = lake.write(GOLD, counts(spark, [("OR", "micro", 5, "US")]), DAY, "r3")
    after = spark.sql(f"SELECT count(*) AS n FROM {lake.name(GOLD)}.snapshots").first()["n"]
    assert after == before + 1 and commit.rows == 1 and commit.ref == "main"
    # The state that had a row for California is gone with the date's old rows; the other date stays.
    assert pyiceberg_rows(tmp_path, DAY) == {("OR", "micro", 5, "US")}
    assert pyiceberg_rows(tmp_path, OTHER_DAY) == {("Bayern", "brewpub", 9, "DE")}
    assert_df_equality(
        lake.read(GOLD, DAY),
        counts(spark, [("OR", "micro", 5, "US")]),
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_an_audited_write_is_invisible_until_published(lake, spark, tmp_path):
    lake.write(GOLD, counts(spark, [("OR", "micro", 2, "US")]), DAY, "r1")
    audited = lake.write(GOLD, counts(spark, [("OR", "micro", 7, "US")]), DAY, "r2", audited=True)
    assert audited.ref == audit_branch(DAY)
    assert pyiceberg_rows(tmp_path, DAY) == {("OR", "micro", 2, "US")}  # readers still see main
    assert lake.read(GOLD, DAY, audited.snapshot_id).first()["brewery_count"] == 7
    published = lake.publish(GOLD, DAY, audited.snapshot_id, "r3")
    # Main did not move meanwhile: fast-forwarded to the audited snapshot itself, nothing rewritten.
    assert published.snapshot_id == audited.snapshot_id and published.rows == 1
    assert pyiceberg_rows(tmp_path, DAY) == {("OR", "micro", 7, "US")}
    assert lake.publish(GOLD, DAY, audited.snapshot_id, "r4") == published  # twice: a no-op
    refs = {r["name"] for r in spark.sql(f"SELECT name FROM {lake.name(GOLD)}.refs").collect()}
    assert refs == {"main"}


def test_publishing_after_another_date_was_published_rewrites_without_loss_or_doubling(lake, spark, tmp_path):
    audited = lake.write(GOLD, counts(spark, [("OR", "micro", 7, "US")]), DAY, "r1", audited=True)
    lake.write(GOLD, counts(spark, [("Bayern", "brewpub", 9, "DE")]), OTHER_DAY, "r2")  # main moves on
    published = lake.publish(GOLD, DAY, audited.snapshot_id, "r3")
    assert published.snapshot_id != audited.snapshot_id and published.rows == 1
    assert pyiceberg_rows(tmp_path, DAY) == {("OR", "micro", 7, "US")}
    assert pyiceberg_rows(tmp_path, OTHER_DAY) == {("Bayern", "brewpub", 9, "DE")}


def test_two_dates_committing_at_once_both_land(lake, spark, tmp_path):
    lake.ensure(GOLD)
    errors: list[BaseException] = []

    def write(day: date, n: int) -> None:
        try:
            rows = [(f"S{i}", "micro", n, "US") for i in range(50)]
            lake.write(GOLD, counts(spark, rows), day, f"run-{day}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(d, n)) for d, n in ((DAY, 1), (OTHER_DAY, 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(pyiceberg_rows(tmp_path, DAY)) == len(pyiceberg_rows(tmp_path, OTHER_DAY)) == 50
    assert {r[2] for r in pyiceberg_rows(tmp_path, DAY)} == {1}


def test_a_new_column_evolves_the_table_and_old_snapshots_still_read(lake, spark, tmp_path):
    first = lake.write(GOLD, counts(spark, [("OR", "micro", 2, "US")]), DAY, "r1")
    wider = replace(
        GOLD,
        columns=StructType(
            [*GOLD.columns.fields, StructField("region", StringType(), metadata={"comment": "a newer field"})]
        ),
    )
    rows = spark.createDataFrame([("OR", "micro", 3, "US", "West")], wider.columns)
    lake.write(wider, rows, DAY, "r2")
    assert lake.read(wider, DAY).first()["region"] == "West"
    assert pyiceberg_rows(tmp_path, DAY, first.snapshot_id) == {("OR", "micro", 2, "US")}
    data_files = spark.sql(f"SELECT count(*) AS n FROM {lake.name(GOLD)}.all_data_files").first()["n"]
    assert data_files == 2  # the old file was not rewritten to add the column


def test_a_column_of_another_type_is_refused_naming_table_and_column(lake, spark):
    lake.write(GOLD, counts(spark, [("OR", "micro", 2, "US")]), DAY, "r1")
    narrower = replace(
        GOLD,
        columns=StructType(
            [
                f if f.name != "brewery_count" else StructField("brewery_count", StringType())
                for f in GOLD.columns
            ]
        ),
    )
    with pytest.raises(
        TableSchemaError, match=r"gold\.breweries_by_type_location has column brewery_count as bigint"
    ):
        lake.ensure(narrower)
    assert isinstance(GOLD.columns["brewery_count"].dataType, LongType)
