"""A real S3 server on 127.0.0.1 for the tests and the benchmarks.

MinIO, built from its pinned Go module into .tools/bin by `make test` (k8s/tools/build-minio.sh),
with fresh random credentials and a temporary data folder, stopped afterwards. Where MinIO is not
built (no Go on the machine), moto's S3 server stands in, and :attr:`S3Server.kind` says so.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
MINIO = REPO / ".tools" / "bin" / "minio"
REGION = "us-east-1"


def minio_release() -> str:
    for line in (REPO / "k8s" / "versions.env").read_text().splitlines():
        if line.startswith("MINIO_RELEASE="):
            return line.split("=", 1)[1].split("#")[0].strip()
    return "MinIO"


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    kind: str  # which server: "MinIO RELEASE..." or "moto (...why...)"
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_minio(self) -> bool:
        return self.kind.startswith("MinIO")

    def client(self, service: str = "s3", **credentials: str) -> Any:
        """A boto3 client for this server, as root unless other credentials are given."""
        if not credentials and service in self._clients:
            return self._clients[service]
        client = boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=credentials.get("access_key", self.access_key),
            aws_secret_access_key=credentials.get("secret_key", self.secret_key),
            aws_session_token=credentials.get("session_token"),
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )
        if not credentials:
            self._clients[service] = client
        return client

    def env(self) -> dict[str, str]:
        """What a process needs to use this server: credentials and the breweries endpoint."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "BREWERIES_S3_ENDPOINT": self.endpoint,
        }

    def create_buckets(self, *names: str) -> None:
        for name in names:
            self.client().create_bucket(Bucket=name)

    def request_counts(self) -> dict[str, int]:
        """Requests served so far, by S3 API (MinIO's own counters; empty for moto)."""
        if not self.is_minio:
            return {}
        text = requests.get(f"{self.endpoint}/minio/metrics/v3/api/requests", timeout=10).text
        counts: dict[str, int] = {}
        for line in text.splitlines():
            if line.startswith("minio_api_requests_total{"):
                labels, value = line.rsplit(" ", 1)
                api = labels.split('name="', 1)[1].split('"', 1)[0]
                counts[api] = counts.get(api, 0) + int(float(value))
        return counts

    def keys(self, bucket: str) -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return sorted(
            o["Key"] for page in paginator.paginate(Bucket=bucket) for o in page.get("Contents", [])
        )

    def pending_uploads(self, bucket: str) -> list[str]:
        return sorted(
            u["Key"] for u in self.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        )

    def read_only_credentials(self, *, writable: tuple[str, ...] = ()) -> dict[str, str]:
        """Temporary credentials that may read every bucket and write only ``writable`` (MinIO STS)."""
        statements: list[dict[str, Any]] = [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
             "Resource": ["arn:aws:s3:::*"]},
        ]  # fmt: skip
        if writable:
            statements.append(
                {"Effect": "Allow", "Action": ["s3:*"],
                 "Resource": [f"arn:aws:s3:::{b}{suffix}" for b in writable for suffix in ("", "/*")]}
            )  # fmt: skip
        policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
        answer = self.client("sts").assume_role(
            RoleArn="arn:xxx:xxx:xxx:xxxx", RoleSessionName="tests", Policy=policy, DurationSeconds=900
        )
        c = answer["Credentials"]
        return {
            "access_key": c["AccessKeyId"],
            "secret_key": c["SecretAccessKey"],
            "session_token": c["SessionToken"],
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_s3_server() -> Iterator[S3Server]:
    if MINIO.exists():
        with _minio() as server:
            yield server
        return
    reason = (
        "no Go to build MinIO with"
        if shutil.which("go") is None
        else f"{MINIO} not built (make test builds it)"
    )
    with _moto(reason) as server:
        yield server


@contextmanager
def _minio() -> Iterator[S3Server]:
    port, console = free_port(), free_port()
    user, password = "test-" + secrets.token_hex(6), secrets.token_hex(20)
    with tempfile.TemporaryDirectory(prefix="minio-") as data:
        env = {**os.environ, "MINIO_ROOT_USER": user, "MINIO_ROOT_PASSWORD": password,
               "MINIO_BROWSER": "off", "MINIO_UPDATE": "off", "MINIO_CI_CD": "1",
               # Its request counters, for bench/whole_run.py: loopback only, and gone with the server.
               "MINIO_PROMETHEUS_AUTH_TYPE": "public"}  # fmt: skip
        command = [str(MINIO), "server", data, "--quiet",
                   "--address", f"127.0.0.1:{port}", "--console-address", f"127.0.0.1:{console}"]  # fmt: skip
        log = Path(data).parent / f"minio-{port}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        endpoint = f"http://127.0.0.1:{port}"
        try:
            _wait_until_live(endpoint, process, log)
            yield S3Server(endpoint, user, password, f"MinIO {minio_release()} ({MINIO.relative_to(REPO)})")
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.unlink(missing_ok=True)


def _wait_until_live(endpoint: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"MinIO exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{endpoint}/minio/health/live", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"MinIO at {endpoint} was not live within 60 s")


@contextmanager
def _moto(reason: str) -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}", "test-access-key", "test-secret-key", f"moto ({reason})")
    finally:
        server.stop()
