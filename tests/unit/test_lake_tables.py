"""The table declarations: namespaces per layer, a comment on every column, partitioning within a date."""

from __future__ import annotations

from breweries.lake.tables import SNAPSHOT_DATE
from breweries.pipeline import TABLES
from breweries.settings import Settings
from breweries.stages.gold import GOLD
from breweries.stages.silver import SILVER
from breweries.stages.silver_anonymized import SILVER_ANONYMIZED


def test_identifiers_are_the_layers_namespaces() -> None:
    assert [t.identifier for t in TABLES] == [
        "silver.breweries",
        "silver.quarantine",
        "silver.quality_checks",
        "silver_anonymized.breweries",
        "gold.breweries_by_type_location",
    ]


def test_every_column_has_a_comment_and_every_table_a_snapshot_date() -> None:
    for table in TABLES:
        fields = table.schema.fields
        assert fields[-1].name == SNAPSHOT_DATE, table.identifier
        assert all(f.metadata.get("comment") for f in fields), (table.identifier, table.schema)
        assert set(table.comment_overrides) <= {f.name for f in fields}, "a comment for a column that is gone"
        assert table.comment


def test_anonymized_columns_say_they_are_hashed() -> None:
    comments = {f.name: f.metadata["comment"] for f in SILVER_ANONYMIZED.schema.fields}
    assert "HMAC-SHA256" in comments["name"] and "HMAC-SHA256" in comments["phone"]
    assert "HMAC" not in {f.name: f.metadata["comment"] for f in SILVER.schema.fields}["name"]


def test_partitioning_keeps_the_folder_layout_within_the_date() -> None:
    assert SILVER.partitioning == SILVER_ANONYMIZED.partitioning == (SNAPSHOT_DATE, "country", "state")
    assert GOLD.partitioning == (SNAPSHOT_DATE, "country")
    for table in TABLES:
        assert set(table.partitioning) <= set(table.schema.names)


def test_each_table_lives_in_its_layers_storage() -> None:
    settings = Settings(
        storage_root="s3a://lake/root",
        silver_uri="s3a://raw-silver/x",
        silver_anonymized_uri="s3a://anonymized/y",
    )
    assert SILVER.location(settings) == "s3a://raw-silver/x/breweries"
    assert SILVER_ANONYMIZED.location(settings) == "s3a://anonymized/y/breweries"
    assert GOLD.location(settings) == "s3a://lake/root/gold/breweries_by_type_location"
