"""Writing tables: one file per partition, split only above the settings' row limit."""

from __future__ import annotations

from pathlib import Path

from breweries.storage import open_store
from breweries.tables import write_table


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
