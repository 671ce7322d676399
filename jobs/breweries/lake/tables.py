"""Every table the pipeline writes, declared once: identifier, columns and their comments, partitioning.

A table's namespace is its layer (``silver``, ``silver_anonymized``, ``gold``) and its data files
live under that layer's URI, so raw and anonymized data keep their own buckets. Every table has a
``snapshot_date`` column, the run date its rows belong to: a stage replaces exactly its date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyspark.sql.types import BooleanType, DateType, LongType, StringType, StructField, StructType

from breweries.settings import Settings
from breweries.storage import join_uri
from breweries.transforms.gold import GOLD_SCHEMA
from breweries.transforms.silver import QUARANTINE_SCHEMA, SILVER_SCHEMA

SNAPSHOT_DATE = "snapshot_date"

_BREWERY_COMMENTS = {
    "id": "Open Brewery DB id (a UUID), unique within a snapshot date",
    "name": "brewery name as the API gives it, trimmed",
    "brewery_type": "micro, nano, regional, brewpub, large, planning, bar, contract, proprietor, closed, ...",
    "address_1": "street address, first line",
    "address_2": "street address, second line",
    "address_3": "street address, third line",
    "city": "city",
    "state_province": "state or province as the API gives it",
    "postal_code": "postal code, as text (leading zeros kept)",
    "phone": "phone number as the API gives it (free text)",
    "website_url": "website URL",
    "street": "the API's deprecated copy of address_1",
    "longitude": "longitude in degrees (WGS 84), null when unknown",
    "latitude": "latitude in degrees (WGS 84), null when unknown",
    "bronze_page": "the bronze page (1-based) the record was read from",
    "ingest_date": "the bronze crawl's date",
    "fetched_at": "when the crawl started (UTC)",
    "country": "country (partition)",
    "state": "state or province (partition; the API's state_province)",
}


@dataclass(frozen=True)
class Table:
    """One Iceberg table: ``<namespace>.<name>``, its columns, its partitioning within a date."""

    namespace: str  # the layer; also the Settings field <namespace>_uri that holds its files
    name: str
    columns: StructType  # without snapshot_date, which every table has (added last)
    comments: Mapping[str, str] = field(repr=False)
    comment: str = ""
    partition_columns: tuple[str, ...] = ()  # within snapshot_date

    @property
    def identifier(self) -> str:
        return f"{self.namespace}.{self.name}"

    def location(self, settings: Settings) -> str:
        return join_uri(getattr(settings, f"{self.namespace}_uri"), self.name)

    @property
    def schema(self) -> StructType:
        """The table's full schema, every column with its comment (``snapshot_date`` last)."""
        fields = [*self.columns.fields, StructField(SNAPSHOT_DATE, DateType(), nullable=False)]
        return StructType(
            [StructField(f.name, f.dataType, f.nullable, {"comment": self.comments[f.name]}) for f in fields]
        )

    @property
    def partitioning(self) -> tuple[str, ...]:
        return (SNAPSHOT_DATE, *self.partition_columns)


SILVER = Table(
    "silver",
    "breweries",
    SILVER_SCHEMA,
    {**_BREWERY_COMMENTS, SNAPSHOT_DATE: "the run date this row belongs to"},
    "Every brewery of the run date's crawl: typed, cleaned, one row per id",
    partition_columns=("country", "state"),
)
QUARANTINE = Table(
    "silver",
    "quarantine",
    QUARANTINE_SCHEMA,
    {
        "quarantine_reason": "why the record is not in silver: malformed_record, missing_id, duplicate_id",
        "id": "the record's id, when it has one",
        "bronze_page": "the bronze page (1-based) the record was read from",
        "record": "the record as received (JSON text)",
        "ingest_date": "the bronze crawl's date",
        SNAPSHOT_DATE: "the run date this row belongs to",
    },
    "Bronze records silver could not use, each with its reason",
)
QUALITY_CHECKS = Table(
    "silver",
    "quality_checks",
    StructType(
        [
            StructField("check", StringType(), nullable=False),
            StructField("severity", StringType(), nullable=False),
            StructField("passed", BooleanType(), nullable=False),
            StructField("observed", LongType()),
            StructField("expected", StringType()),
            StructField("detail", StringType()),
        ]
    ),
    {
        "check": "the check's name (docs/pipeline.md lists them)",
        "severity": "error (fails the gate) or warning (reported only)",
        "passed": "whether the check passed",
        "observed": "the value the check measured",
        "expected": "what the check expects",
        "detail": "what the check found, in words",
        SNAPSHOT_DATE: "the run date the gate checked",
    },
    "The data-quality gate's checks, one row per check per run date",
)
SILVER_ANONYMIZED = Table(
    "silver_anonymized",
    "breweries",
    SILVER_SCHEMA,
    {
        **_BREWERY_COMMENTS,
        "name": "brewery name, pseudonymized (HMAC-SHA256, hex) unless configured otherwise",
        "phone": "phone number, pseudonymized (HMAC-SHA256, hex) unless configured otherwise",
        SNAPSHOT_DATE: "the run date this row belongs to",
    },
    "silver.breweries with the sensitive columns replaced by a keyed hash",
    partition_columns=("country", "state"),
)
GOLD = Table(
    "gold",
    "breweries_by_type_location",
    GOLD_SCHEMA,
    {
        "state": "state or province",
        "brewery_type": "the brewery type",
        "brewery_count": "how many breweries of this type the state has",
        "country": "country (partition)",
        SNAPSHOT_DATE: "the run date these counts are of",
    },
    "Brewery counts by country, state and type",
    partition_columns=("country",),
)

TABLES: tuple[Table, ...] = (SILVER, QUARANTINE, QUALITY_CHECKS, SILVER_ANONYMIZED, GOLD)


def table(identifier: str) -> Table:
    for candidate in TABLES:
        if candidate.identifier == identifier:
            return candidate
    raise KeyError(f"no table {identifier!r}; the tables are {', '.join(t.identifier for t in TABLES)}")
