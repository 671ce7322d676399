"""Whole runs of `breweries` on the test S3 server, in their own processes (shared by the S3 tests).

A process of its own, as a user's or a driver's: Spark's s3a connector must be on the JVM's
classpath when it starts, which the test session's shared local SparkSession is not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.s3_server import S3Server

BIN = Path(sys.executable).parent
KEY = "s3-test-key"
LAYERS = ("bronze", "silver", "silver_anonymized", "gold", "state")


@dataclass(frozen=True)
class Buckets:
    """One bucket per layer, as the chart lays them out (raw and anonymized silver apart)."""

    bronze: str
    silver: str
    silver_anonymized: str
    gold: str
    state: str

    @classmethod
    def fresh(cls, s3: S3Server, *, missing: tuple[str, ...] = ()) -> Buckets:
        suffix = uuid.uuid4().hex[:8]
        buckets = cls(**{layer: f"{layer.replace('_', '-')}-{suffix}" for layer in LAYERS})
        s3.create_buckets(*(getattr(buckets, layer) for layer in LAYERS if layer not in missing))
        return buckets

    def env(self) -> dict[str, str]:
        return {
            "BREWERIES_STORAGE_ROOT": f"s3a://{self.state}",
            "BREWERIES_BRONZE_URI": f"s3a://{self.bronze}",
            "BREWERIES_SILVER_URI": f"s3a://{self.silver}",
            "BREWERIES_SILVER_ANONYMIZED_URI": f"s3a://{self.silver_anonymized}",
            "BREWERIES_GOLD_URI": f"s3a://{self.gold}",
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


def download(s3: S3Server, bucket: str, prefix: str, into: Path) -> Path:
    """Every data object under ``prefix``, kept at its relative path, for local Spark to read."""
    for key in s3.keys(bucket):
        if key.startswith(prefix) and not key.endswith(("/", "_SUCCESS")):
            target = into / key[len(prefix) :].lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.client().download_file(bucket, key, str(target))
    return into


def leftovers(s3: S3Server, buckets: Buckets) -> dict[str, list[str]]:
    """Staging, Spark's temporary and magic-committer paths, and pending uploads, per bucket."""
    found: dict[str, list[str]] = {}
    for bucket in buckets.all():
        marks = [k for k in s3.keys(bucket) if any(m in k for m in ("_staging", "_temporary", "__magic"))]
        marks += [f"upload:{k}" for k in s3.pending_uploads(bucket)]
        if marks:
            found[bucket] = marks
    return found
