"""Bronze's pages read back through S3A hold exactly the numbers they hold on a local disk.

Spark's streaming JSON reader (``multiLine``) corrupted numbers that a short S3A read had split:
a few coordinates per full read (``-94.5797`` followed by NUL characters for ``-94.57977386``),
different ones each time. Five full reads of the snapshot's 60 pages met it every time it was
tried; reading each page whole and parsing it from memory never did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

pytestmark = pytest.mark.slow

READS = 5
READ_BACK = """
import json, sys
from breweries.settings import Settings
from breweries.spark import build_spark_session
from breweries.tables import read_bronze_pages
spark = build_spark_session(Settings.from_env(), "bronze-pages")
local, remote, reads = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
def coordinates(pages):
    return {r["id"]: (r["longitude"], r["latitude"]) for r in read_bronze_pages(spark, pages).collect()}
expected = coordinates(local)
differences = [{k: v for k, v in coordinates(remote).items() if expected.get(k) != v} for _ in range(reads)]
print(json.dumps(differences))
"""


def test_every_read_through_s3a_gives_the_numbers_a_local_read_gives(
    s3_server, snapshot, tmp_path, replay_of
):
    server = replay_of(snapshot)
    bucket = "bronze-pages-read-back"
    s3_server.create_buckets(bucket)
    local, remote = [], []
    for page in range(1, 61):
        body = requests.get(
            f"{server.url}/breweries", params={"page": page, "per_page": 200, "sort": "id:asc"}, timeout=10
        ).content
        path = tmp_path / f"page={page:04d}.json"
        path.write_bytes(body)
        s3_server.client().put_object(Bucket=bucket, Key=path.name, Body=body)
        local.append(f"file://{path}")
        remote.append(f"s3a://{bucket}/{path.name}")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BREWERIES_", "AWS_"))},
        **s3_server.env(),
        "BREWERIES_STORAGE_ROOT": f"s3a://{bucket}",
    }
    done = subprocess.run(
        [sys.executable, "-c", READ_BACK, json.dumps(local), json.dumps(remote), str(READS)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == [{}] * READS
