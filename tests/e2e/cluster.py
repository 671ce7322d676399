"""The cluster the end-to-end tests run on, through the same tools a user has: kubectl, helm and argo
from .tools/bin (make cluster-up puts them there), with the kubeconfig make cluster-up writes.

Run by `make e2e`, which sets BREWERIES_E2E=1: without it, or without a reachable cluster with the
chart installed, every test skips itself and says which.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from tests.s3_server import S3Server

from breweries.lake.catalog import CATALOG

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools" / "bin"
NAMESPACE = os.environ.get("BREWERIES_E2E_NAMESPACE", "breweries")
KUBECONFIG = os.environ.get("BREWERIES_E2E_KUBECONFIG", str(REPO / ".tools" / "cluster" / "kubeconfig"))
ENABLED = os.environ.get("BREWERIES_E2E") == "1"
FINAL = ("Succeeded", "Failed", "Error")
# tests/e2e/manifests/fixtures.yaml: an API that serves no brewery, and a webhook sink that keeps what
# the exit handler posts.
FIXTURES = Path(__file__).with_name("manifests") / "fixtures.yaml"
EMPTY_API = "http://breweries-e2e-api-empty:8080/v1"
SINK = "breweries-e2e-webhook"


def tool(name: str) -> str:
    local = TOOLS / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def run(
    *command: str, check: bool = True, timeout: float = 300, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": KUBECONFIG}
    result = subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def kubectl(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return run(tool("kubectl"), "-n", NAMESPACE, *args, **kwargs)


def argo(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return run(tool("argo"), "-n", NAMESPACE, *args, **kwargs)


def helm(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return run(tool("helm"), "--namespace", NAMESPACE, *args, **kwargs)


def unavailable() -> str | None:
    """Why the end-to-end tests cannot run here, or None."""
    if not ENABLED:
        return "end-to-end tests run with make e2e (BREWERIES_E2E=1), on the cluster of make cluster-up"
    if not Path(KUBECONFIG).is_file():
        return f"no kubeconfig at {KUBECONFIG}: run make cluster-up (or set BREWERIES_E2E_KUBECONFIG)"
    probe = kubectl("get", "workflowtemplate", "breweries", check=False, timeout=30)
    if probe.returncode != 0:
        return f"no breweries WorkflowTemplate in namespace {NAMESPACE}: {probe.stderr.strip()[:300]}"
    return None


def get_json(*args: str) -> Any:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def secret_values(name: str) -> dict[str, str]:
    data = get_json("secret", name)["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


@dataclass
class Workflow:
    name: str

    def get(self) -> dict[str, Any]:
        return get_json("workflow", self.name)

    @property
    def phase(self) -> str:
        return self.get().get("status", {}).get("phase", "")

    def wait(self, timeout: float = 2400) -> dict[str, Any]:
        """Until the workflow, exit handler included, has ended; its last state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workflow = self.get()
            if workflow.get("status", {}).get("phase") in FINAL:
                return workflow
            time.sleep(5)
        raise AssertionError(f"workflow {self.name} did not end within {timeout:.0f} s")

    def nodes(self) -> list[dict[str, Any]]:
        return list(self.get().get("status", {}).get("nodes", {}).values())

    def spark_applications(self) -> list[dict[str, Any]]:
        selector = f"workflows.argoproj.io/workflow={self.name}"
        return get_json("sparkapplications", "-l", selector)["items"]


def submit(*args: str) -> Workflow:
    """`argo submit ARGS` (e.g. --from workflowtemplate/breweries -p run-date=...); the new workflow."""
    return Workflow(argo("submit", *args, "-o", "name").stdout.strip())


def component(application: dict[str, Any]) -> str:
    return application["metadata"]["labels"]["app.kubernetes.io/component"]


def state(application: dict[str, Any]) -> str:
    return application.get("status", {}).get("applicationState", {}).get("state", "")


def started(node: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(node["startedAt"].replace("Z", "+00:00"))


def finished(node: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(node["finishedAt"].replace("Z", "+00:00"))


def release_values() -> dict[str, Any]:
    """The installed release's values, the chart's defaults included."""
    return json.loads(helm("get", "values", "breweries", "--all", "-o", "json").stdout)


def apply_fixtures() -> None:
    """The e2e fixtures, in the chart's own base image, applied and rolled out."""
    image = release_values()["image"]
    base = f"{image['repository']}-base:{image['tag']}"
    kubectl("apply", "-f", "-", stdin=FIXTURES.read_text().replace("@IMAGE@", base))
    for deployment in ("breweries-e2e-api-empty", SINK):
        kubectl("rollout", "status", f"deployment/{deployment}", "--timeout", "180s")


def point_the_chart_at(api_url: str | None, *settings: str) -> None:
    """The chart's own API replay (None) or another API; failures posted to the sink. SETTINGS:
    more `--set NAME=VALUE` arguments for the upgrade."""
    # The chart refuses an API URL with its replay on: going back to the replay empties the URL.
    source = ["--set", "apiReplay.enabled=true", "--set", "pipeline.apiUrl="] if api_url is None else [
        "--set", "apiReplay.enabled=false", "--set", f"pipeline.apiUrl={api_url}"
    ]  # fmt: skip
    helm(
        # --reset-then-reuse-values: the installed values, over this chart's defaults (plain
        # --reuse-values would miss any value the chart added since).
        "upgrade", "breweries", "helm/breweries", "--reset-then-reuse-values", "--wait", *source,
        "--set", f"secrets.webhook.name={SINK}", *settings,
    )  # fmt: skip


def webhook_messages() -> list[dict[str, Any]]:
    """Everything the sink has been posted, oldest first."""
    address = get_json("service", SINK)["spec"]["clusterIP"]
    return requests.get(f"http://{address}:8080/", timeout=10).json()


def chart_minio() -> S3Server:
    """The chart's MinIO, reached through its Service's cluster IP (this machine is the node)."""
    address = get_json("service", "breweries-minio")["spec"]["clusterIP"]
    credentials = secret_values("breweries-s3")
    return S3Server(
        f"http://{address}:9000",
        credentials["AWS_ACCESS_KEY_ID"],
        credentials["AWS_SECRET_ACCESS_KEY"],
        "the chart's MinIO",
    )


def chart_catalog(minio: S3Server) -> Any:
    """The tables as a reader outside the cluster sees them: PyIceberg's SQL catalog on the chart's
    PostgreSQL (its Service's cluster IP), with the credentials of its Secret, and the tables' files
    in the chart's MinIO. No project code reads them."""
    from pyiceberg.catalog.sql import SqlCatalog

    values = release_values()["catalog"]
    address = get_json("service", "breweries-postgresql")["spec"]["clusterIP"]
    credentials = secret_values(values["credentials"]["secretName"])
    user = quote(credentials[values["credentials"]["userKey"]], safe="")
    password = quote(credentials[values["credentials"]["passwordKey"]], safe="")
    database = values["postgresql"]["database"]
    return SqlCatalog(
        CATALOG,  # the catalog's name in the JDBC tables: the pipeline's
        uri=f"postgresql+psycopg2://{user}:{password}@{address}:5432/{database}",
        **{
            # A reader: it never creates the catalog's tables, and checks a pooled connection
            # before use (the catalog's pod restarts in a test).
            "init_catalog_tables": "false",
            "pool_pre_ping": "true",
            "s3.endpoint": minio.endpoint,
            "s3.access-key-id": minio.access_key,
            "s3.secret-access-key": minio.secret_key,
            "s3.region": "us-east-1",
        },
    )


@contextlib.contextmanager
def port_forward(target: str, remote_port: int, namespace: str = NAMESPACE) -> Iterator[int]:
    """`kubectl port-forward TARGET :REMOTE_PORT`, as a user reaches a Service: yields the local port."""
    command = [tool("kubectl"), "-n", namespace, "port-forward", target, f":{remote_port}"]
    process = subprocess.Popen(
        command,
        env={**os.environ, "KUBECONFIG": KUBECONFIG},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "Forwarding from 127.0.0.1:PORT -> REMOTE_PORT"
        if not line.startswith("Forwarding from 127.0.0.1:"):
            raise AssertionError(
                f"{' '.join(command)}: {line}{process.stderr.read() if process.stderr else ''}"
            )
        yield int(line.split("127.0.0.1:")[1].split()[0])
    finally:
        process.terminate()
        process.wait(timeout=10)
