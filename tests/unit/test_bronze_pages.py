"""Reading bronze's pages: each record of a page as a row, a page that does not parse as one row
holding its text, an empty page as none."""

from __future__ import annotations

import json

from chispa import assert_df_equality

from breweries.api.fields import API_FIELDS
from breweries.tables import read_bronze_pages
from breweries.transforms.silver import BRONZE_SCHEMA, SOURCE_FILE


def test_records_of_good_pages_and_the_text_of_a_broken_page_each_become_rows(spark, tmp_path):
    good = [{"id": "a", "name": "Zoë's", "latitude": "-94.57977386"}, {"id": "b", "country": "Ireland"}]
    broken = '[{"id": "c", "name": "cut off'
    pages = {"page=0001.json": json.dumps(good), "page=0002.json": "[]", "page=0003.json": broken}
    for name, text in pages.items():
        (tmp_path / name).write_text(text, encoding="utf-8")

    read = read_bronze_pages(spark, [str(tmp_path / name) for name in pages])

    def row(record: dict, corrupt: str | None, page: str) -> tuple:
        # The page's path as Spark names a local file: file:/path, not file:///path.
        return (*(record.get(f) for f in API_FIELDS), corrupt, f"file:{tmp_path / page}")

    expected = spark.createDataFrame(
        [
            row(good[0], None, "page=0001.json"),
            row(good[1], None, "page=0001.json"),
            row({}, broken, "page=0003.json"),
        ],
        read.schema,
    )
    assert read.columns == [*BRONZE_SCHEMA.names, SOURCE_FILE]
    assert_df_equality(read, expected, ignore_row_order=True, ignore_nullable=True)
