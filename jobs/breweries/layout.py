"""Where bronze, the quality reports and the staging folders live: the file layout in one place.

The tables' locations are declared with the tables (:mod:`breweries.lake.tables`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from breweries.settings import Settings
from breweries.storage import join_uri

MANIFEST_NAME = "_manifest.json"


@dataclass(frozen=True)
class Layout:
    settings: Settings

    # bronze: the API's responses, byte for byte
    def bronze_table_uri(self) -> str:
        return join_uri(self.settings.bronze_uri, "breweries")

    def bronze_uri(self, day: date) -> str:
        return join_uri(self.bronze_table_uri(), f"ingest_date={day.isoformat()}")

    def bronze_manifest_uri(self, day: date) -> str:
        return join_uri(self.bronze_uri(day), MANIFEST_NAME)

    # silver: what the quality gate reports of the date (the tables are breweries.lake.tables)
    def quality_reports_uri(self) -> str:
        return join_uri(self.settings.silver_uri, "_quality")

    def quality_report_uri(self, day: date) -> str:
        return join_uri(self.quality_reports_uri(), f"snapshot_date={day.isoformat()}", "report.json")


def staging_for(final_uri: str, run_id: str) -> str:
    """A sibling folder to build ``final_uri`` in before publishing it.

    It sits under ``_staging`` next to the partitions: Spark's partition discovery skips folders
    whose names start with ``_``, so a half-built output is never read as part of the table.
    """
    return abandoned_staging_prefix(final_uri) + run_id


def abandoned_staging_prefix(final_uri: str) -> str:
    """What every run's staging folder for ``final_uri`` starts with.

    A killed run leaves its folder behind. The run-date lock (or the workflow's mutex) means no
    other run builds that output now, so whatever starts with this prefix is safe to delete.
    """
    parent, _, leaf = final_uri.rstrip("/").rpartition("/")
    return join_uri(parent, "_staging", f"{leaf}.")


def bronze_candidate_prefix(published_uri: str) -> str:
    """What the folders of a date's later crawls start with, beside its published crawl.

    The quality gate's success moves the candidate over the published folder (breweries.publishing).
    """
    parent, _, leaf = published_uri.rstrip("/").rpartition("/")
    return join_uri(parent, "_candidates", f"{leaf}.")
