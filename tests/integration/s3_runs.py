"""Whole runs of `breweries` on the test S3 server, in their own processes (shared by the S3 tests).

A process of its own, as a user's or a driver's: Spark's s3a connector must be on the JVM's
classpath when it starts, which the test session's shared local SparkSession is not. The tables'
catalog is a SQLite file on this machine, as a developer's run on object storage has it; the tests
read the tables through it with PyIceberg (no JVM), as any other engine would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tests.s3_server import REGION, S3Server

from breweries.lake.catalog import CATALOG
from breweries.lake.tables import SNAPSHOT_DATE, Table

BIN = Path(sys.executable).parent
KEY = "s3-test-key"
LAYERS = ("bronze", "silver", "silver_anonymized", "gold", "state")


@dataclass(frozen=True)
class Buckets:
    """One bucket per layer, as the chart lays them out (raw and anonymized silver apart), and the
    tables' catalog."""

    bronze: str
    silver: str
    silver_anonymized: str
    gold: str
    state: str
    catalog: Path  # the SQLite file of the tables' Iceberg catalog

    @classmethod
    def fresh(cls, s3: S3Server, catalog_dir: Path, *, missing: tuple[str, ...] = ()) -> Buckets:
        suffix = uuid.uuid4().hex[:8]
        names = {layer: f"{layer.replace('_', '-')}-{suffix}" for layer in LAYERS}
        buckets = cls(**names, catalog=catalog_dir / f"iceberg-{suffix}.db")
        s3.create_buckets(*(getattr(buckets, layer) for layer in LAYERS if layer not in missing))
        return buckets

    def env(self) -> dict[str, str]:
        return {
            "BREWERIES_STORAGE_ROOT": f"s3a://{self.state}",
            "BREWERIES_BRONZE_URI": f"s3a://{self.bronze}",
            "BREWERIES_SILVER_URI": f"s3a://{self.silver}",
            "BREWERIES_SILVER_ANONYMIZED_URI": f"s3a://{self.silver_anonymized}",
            "BREWERIES_GOLD_URI": f"s3a://{self.gold}",
            "BREWERIES_CATALOG_URI": f"jdbc:sqlite:{self.catalog}",
        }

    def all(self) -> list[str]:
        return [getattr(self, layer) for layer in LAYERS]


def run_env(s3: S3Server, buckets: Buckets, api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREWERIES_", "AWS_"))}
    return {
        **env,
        **s3.env(),
        **buckets.env(),
        "BREWERIES_API_URL": api_url,
        "BREWERIES_PSEUDONYMIZATION_KEY": KEY,
        "BREWERIES_STAGE_RETRY_BACKOFF_SECONDS": "0.01",
        "BREWERIES_HTTP_BACKOFF_SECONDS": "0.01",
        **extra,
    }


def breweries(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "breweries", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def lake(s3: S3Server, buckets: Buckets) -> Any:
    """PyIceberg's view of the catalog a run on ``buckets`` committed to."""
    from pyiceberg.catalog.sql import SqlCatalog

    assert buckets.catalog.is_file(), f"no catalog at {buckets.catalog}: no run committed a table"
    return SqlCatalog(
        CATALOG,
        uri=f"sqlite:///{buckets.catalog}",
        warehouse=f"s3a://{buckets.state}",
        **{
            "s3.endpoint": s3.endpoint,
            "s3.access-key-id": s3.access_key,
            "s3.secret-access-key": s3.secret_key,
            "s3.region": REGION,
        },
    )


def published_rows(s3: S3Server, buckets: Buckets, table: Table, day: date | str) -> list[dict[str, Any]]:
    """The date's rows of ``table`` as ``main`` publishes them (its columns, no snapshot_date)."""
    scan = (
        lake(s3, buckets)
        .load_table(table.identifier)
        .scan(row_filter=f"{SNAPSHOT_DATE} == '{day}'", selected_fields=tuple(table.columns.names))
    )
    return scan.to_arrow().to_pylist()


def data_files(s3: S3Server, buckets: Buckets, table: Table, *, every_snapshot: bool = False) -> list[dict]:
    """The data files ``main``'s current snapshot reads (or any snapshot still references): each
    with its ``file_path`` and its ``partition`` values by name."""
    from pyiceberg.manifest import DataFileContent

    loaded = lake(s3, buckets).load_table(table.identifier)
    current = loaded.current_snapshot()
    snapshots = loaded.snapshots() if every_snapshot else [current] if current else []
    files: dict[str, dict] = {}
    for snapshot in snapshots:
        for manifest in snapshot.manifests(loaded.io):
            names = [f.name for f in loaded.specs()[manifest.partition_spec_id].fields]
            for entry in manifest.fetch_manifest_entry(loaded.io, discard_deleted=True):
                data = entry.data_file
                if data.content == DataFileContent.DATA:
                    partition = {name: data.partition[i] for i, name in enumerate(names)}
                    files[data.file_path] = {"file_path": data.file_path, "partition": partition}
    return list(files.values())


def key_of(uri: str) -> tuple[str, str]:
    """``s3a://bucket/a/b`` -> ``("bucket", "a/b")``."""
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    return bucket, key


def leftovers(s3: S3Server, buckets: Buckets) -> dict[str, list[str]]:
    """Staging, bronze candidates, Spark's temporary and magic-committer paths, and pending uploads,
    per bucket. (Files a killed Iceberg write left unreferenced are not counted: readers never see
    them, and `breweries maintain` removes them.)"""
    found: dict[str, list[str]] = {}
    for bucket in buckets.all():
        marks = [
            k
            for k in s3.keys(bucket)
            if any(m in k for m in ("_staging", "_candidates", "_temporary", "__magic"))
        ]
        marks += [f"upload:{k}" for k in s3.pending_uploads(bucket)]
        if marks:
            found[bucket] = marks
    return found
