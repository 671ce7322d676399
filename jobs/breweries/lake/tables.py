"""What a table is: an identifier, columns with their comments, partitioning within a date.

Each stage module declares the tables it writes (``stages/silver.py`` declares ``silver.breweries``
and ``silver.quarantine``); :data:`breweries.pipeline.TABLES` lists them all. A table's namespace is
its layer (``silver``, ``silver_anonymized``, ``gold``) and its data files live under that layer's
URI, so raw and anonymized data keep their own buckets. Every table has a ``snapshot_date``
column, the run date its rows belong to: a stage replaces exactly its date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyspark.sql.types import DateType, StructField, StructType

from breweries.settings import Settings
from breweries.storage import join_uri

SNAPSHOT_DATE = "snapshot_date"


@dataclass(frozen=True)
class Table:
    """One Iceberg table: ``<namespace>.<name>``, its columns, its partitioning within a date."""

    namespace: str  # the layer; also the Settings field <namespace>_uri that holds its files
    name: str
    columns: StructType  # each field's metadata holds its comment; snapshot_date is added last
    comment: str
    partition_columns: tuple[str, ...] = ()  # within snapshot_date
    # Comments that differ from the columns' own (anonymized silver's hashed columns).
    comment_overrides: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def identifier(self) -> str:
        return f"{self.namespace}.{self.name}"

    def location(self, settings: Settings) -> str:
        return join_uri(getattr(settings, f"{self.namespace}_uri"), self.name)

    @property
    def schema(self) -> StructType:
        """The table's full schema, every column with its comment (``snapshot_date`` last)."""
        fields = [
            StructField(
                f.name,
                f.dataType,
                f.nullable,
                {"comment": self.comment_overrides.get(f.name) or f.metadata.get("comment", "")},
            )
            for f in self.columns.fields
        ]
        run_date = StructField(
            SNAPSHOT_DATE, DateType(), False, {"comment": "the run date the row belongs to"}
        )
        return StructType([*fields, run_date])

    @property
    def partitioning(self) -> tuple[str, ...]:
        return (SNAPSHOT_DATE, *self.partition_columns)
