"""Writing tables: one file per partition, split only above the settings' row limit."""

from __future__ import annotations

from pathlib import Path

from breweries.storage import open_store
from breweries.tables import even_split, write_table


def _rows_per_file(spark, table: Path) -> dict[str, list[int]]:
    files: dict[str, list[int]] = {}
    for f in sorted(table.rglob("*.parquet")):
        files.setdefault(str(f.parent.relative_to(table)), []).append(spark.read.parquet(str(f)).count())
    return {k: sorted(v) for k, v in files.items()}


def test_each_partition_is_one_file_up_to_the_row_limit(spark, tmp_path):
    rows = [("Germany", str(i)) for i in range(10)] + [("Belgium", "x")]
    df = spark.createDataFrame(rows, "country string, id string")
    root = tmp_path.as_uri()
    store = open_store(root)
    write_table(df, f"{root}/t", store, "run-1", ("country",), max_records_per_file=4)
    assert _rows_per_file(spark, tmp_path / "t") == {"country=Belgium": [1], "country=Germany": [2, 4, 4]}
    write_table(df, f"{root}/u", store, "run-1", ("country",))
    assert _rows_per_file(spark, tmp_path / "u") == {"country=Belgium": [1], "country=Germany": [10]}


def test_partitions_above_the_limit_are_split_evenly(spark, tmp_path):
    # 4 + 4 + 1 and 4 + 1 would leave files of one row.
    rows: list[tuple[str | None, str]] = [("Germany", str(i)) for i in range(9)]
    rows += [("Belgium", str(i)) for i in range(5)] + [("Austria", "x"), (None, "y")]
    df = spark.createDataFrame(rows, "country string, id string")
    root = tmp_path.as_uri()
    write_table(df, f"{root}/t", open_store(root), "run-1", ("country",), max_records_per_file=4)
    assert _rows_per_file(spark, tmp_path / "t") == {
        "country=Austria": [1],
        "country=Belgium": [2, 3],
        "country=Germany": [3, 3, 3],
        "country=__HIVE_DEFAULT_PARTITION__": [1],
    }
    written = spark.read.parquet(str(tmp_path / "t"))
    assert sorted(map(tuple, written.select("country", "id").collect()), key=str) == sorted(rows, key=str)


def test_even_split_uses_the_fewest_files_of_at_most_the_limit():
    # The 20M benchmark's Bayern: 1,000,000 + 9,981 rows before.
    assert even_split(1_009_981, 1_000_000) == 504_991
    assert even_split(1_554_728, 1_000_000) == 777_364
    assert even_split(3_000_000, 1_000_000) == 1_000_000
    assert even_split(10, 4) == 4  # 4 + 4 + 2: three files are needed either way


def test_a_table_without_partition_columns_stays_one_file_whatever_the_row_limit(spark, tmp_path):
    df = spark.createDataFrame([(str(i),) for i in range(5)], "id string")
    root = tmp_path.as_uri()
    write_table(df, f"{root}/q", open_store(root), "run-1", max_records_per_file=2)
    files = list((tmp_path / "q").glob("*.parquet"))
    assert len(files) == 1
    assert spark.read.parquet(str(files[0])).count() == 5
