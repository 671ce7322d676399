"""Writing tables: one file per partition, split only above the settings' row limit."""

from __future__ import annotations

from pathlib import Path

from breweries.storage import open_store
from breweries.tables import rows_per_file, write_table


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


def test_a_partition_just_above_the_limit_is_split_evenly(spark, tmp_path):
    rows = [("Germany", str(i)) for i in range(9)] + [("Belgium", "x")]
    df = spark.createDataFrame(rows, "country string, id string")
    root = tmp_path.as_uri()
    write_table(df, f"{root}/t", open_store(root), "run-1", ("country",), max_records_per_file=4)
    # 4 + 4 + 1 would leave a file of one row.
    assert _rows_per_file(spark, tmp_path / "t") == {"country=Belgium": [1], "country=Germany": [3, 3, 3]}


def test_rows_per_file_leaves_no_small_last_file():
    # The 20M benchmark's two largest partitions: 1M rows per file would end Bayern in 10k rows.
    per_file = rows_per_file([1_554_728, 1_009_981, 894_942, 12], 1_000_000)
    assert per_file <= 1_000_000
    for rows in (1_554_728, 1_009_981):
        assert rows % per_file == 0 or rows % per_file >= per_file / 2
    assert rows_per_file([10, 3], 4) == 4  # 4 + 4 + 2: the last file is half the others
    assert rows_per_file([3, 2], 4) == 4  # nothing to split
