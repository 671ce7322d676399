"""Gold: brewery counts by type and location."""

from __future__ import annotations

from chispa import assert_df_equality

from breweries.transforms.gold import brewery_counts_by_type_and_location


def test_counts_breweries_per_country_state_and_type(spark):
    silver = spark.createDataFrame(
        [
            ("1", "micro", "Germany", "Bayern"),
            ("2", "micro", "Germany", "Bayern"),
            ("3", "brewpub", "Germany", "Bayern"),
            ("4", "micro", "Germany", "Thüringen"),
            ("5", "micro", "Singapore", None),
            ("6", None, "Singapore", None),
        ],
        "id string, brewery_type string, country string, state string",
    )
    expected = spark.createDataFrame(
        [
            ("Germany", "Bayern", "micro", 2),
            ("Germany", "Bayern", "brewpub", 1),
            ("Germany", "Thüringen", "micro", 1),
            ("Singapore", None, "micro", 1),
            ("Singapore", None, None, 1),
        ],
        "country string, state string, brewery_type string, brewery_count long",
    )
    actual = brewery_counts_by_type_and_location(silver)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
