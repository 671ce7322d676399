"""Shared fixtures: one local SparkSession for the whole run, the API replay, a webhook recorder,
and a real S3 server (MinIO, or moto where MinIO is not built) for the whole run."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pyspark.sql import SparkSession
from tests.s3_server import MINIO, S3Server, running_s3_server

from breweries.api.replay import Record, ReplayServer, ReplayState, load_snapshot
from breweries.settings import Settings
from breweries.spark import build_spark_session


def pytest_report_header() -> str:
    # Which S3 server the object-storage tests use, said once at the top of every run.
    if MINIO.exists():
        return f"s3 server: MinIO ({MINIO}), started on 127.0.0.1 when a test needs it"
    return "s3 server: moto's S3 server (MinIO is not built here: make test builds it where Go is)"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 server on 127.0.0.1 for the session, with random root credentials."""
    with running_s3_server() as server:
        print(f"\ns3 server: {server.kind} at {server.endpoint}")
        yield server


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own BREWERIES_* variables must not change what the tests see."""
    for name in [n for n in os.environ if n.startswith("BREWERIES_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    # Bound to 127.0.0.1 with no UI (local-mode defaults); two shuffle partitions for tiny frames.
    session = build_spark_session(Settings(spark_shuffle_partitions=2), "breweries-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def snapshot() -> list[Record]:
    """The bundled Open Brewery DB snapshot, shaped as the API serves it."""
    return load_snapshot()


@pytest.fixture
def replay_of():
    """Start a replay of the given records (and faults) on a free 127.0.0.1 port."""
    servers: list[ReplayServer] = []

    def start(records: list[Record], faults=(), latency: float = 0.0) -> ReplayServer:
        server = ReplayServer(ReplayState(records, faults, latency)).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


class WebhookRecorder(ThreadingHTTPServer):
    """A webhook on 127.0.0.1 that keeps every JSON body POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        recorder = self
        self.messages: list[dict[str, Any]] = []
        self.paths: list[str] = []  # of each message, in the same order
        self.status = status

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                recorder.messages.append(json.loads(self.rfile.read(length)))
                recorder.paths.append(self.path)
                self.send_response(recorder.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/secret-token"


@pytest.fixture
def webhook() -> Iterator[WebhookRecorder]:
    server = WebhookRecorder()
    yield server
    server.shutdown()
    server.server_close()
