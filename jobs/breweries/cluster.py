"""What a stage's pod says to the Kubernetes API: the few calls the pipeline makes from inside a cluster.

A driver that fails for a reason a retry cannot fix (a failed quality gate, a missing input, a bad
setting: breweries.errors) labels its own SparkApplication ``breweries/retryable=false``; the
workflow's failure condition reads that label, and its retry rule retries only the rest. The
workflow's exit handler deletes its SparkApplications that are still running, however it ended.

Plain REST through the pod's service account: the official client needs PyYAML, which publishes
no pure-Python wheel for the images.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests

from breweries.errors import can_retry
from breweries.logs import get_logger

RETRYABLE_LABEL = "breweries/retryable"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
FINAL_STATES = frozenset({"COMPLETED", "FAILED"})
_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_APPLICATIONS = "apis/sparkoperator.k8s.io/v1beta2/namespaces/{namespace}/sparkapplications"


class KubernetesApi:
    """The API server as the pod's service account sees it."""

    def __init__(self, account: Path = _ACCOUNT, timeout_seconds: float = 10.0) -> None:
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
        self.base = f"https://{host}:{port}"
        self.namespace = (account / "namespace").read_text().strip()
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {(account / 'token').read_text().strip()}"
        self._session.verify = str(account / "ca.crt")
        self._timeout = timeout_seconds

    def applications(self) -> str:
        return f"{self.base}/{_APPLICATIONS.format(namespace=self.namespace)}"

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        response.raise_for_status()
        return response.json()


def in_cluster() -> bool:
    return "KUBERNETES_SERVICE_HOST" in os.environ and (_ACCOUNT / "token").is_file()


def mark_not_retryable(exc: BaseException, application: str | None) -> None:
    """Label this driver's SparkApplication when ``exc`` is a failure a retry cannot fix. Never raises."""
    if can_retry(exc) or not application or not in_cluster():
        return
    log = get_logger(component="cluster", spark_application=application)
    try:
        api = KubernetesApi()
        patch = {"metadata": {"labels": {RETRYABLE_LABEL: "false"}}}
        api.call(
            "PATCH",
            f"{api.applications()}/{application}",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        log.info(f"marked {application} {RETRYABLE_LABEL}=false: a retry cannot fix this failure")
    except Exception as error:  # the stage's own failure is what matters; this only saves retries
        log.warning(f"could not mark {application} as not retryable: {type(error).__name__}: {error}")


def delete_running_applications(workflow: str) -> list[str]:
    """Delete the workflow's SparkApplications that are not in a final state; their names."""
    api = KubernetesApi()
    listed = api.call("GET", api.applications(), params={"labelSelector": f"{WORKFLOW_LABEL}={workflow}"})
    deleted = []
    for application in listed.get("items", []):
        state = application.get("status", {}).get("applicationState", {}).get("state", "")
        if state not in FINAL_STATES:
            name = application["metadata"]["name"]
            api.call("DELETE", f"{api.applications()}/{name}")
            deleted.append(name)
    return deleted


def cleanup_workflow(workflow: str) -> None:
    """The exit handler's step. Never fails the workflow: what it could not delete, it says."""
    log = get_logger(stage="cleanup", workflow=workflow)
    try:
        deleted = delete_running_applications(workflow)
    except Exception as exc:
        log.error(f"could not delete the workflow's running SparkApplications: {type(exc).__name__}: {exc}")
        return
    log.info("deleted the workflow's running SparkApplications", extra={"deleted": deleted})
