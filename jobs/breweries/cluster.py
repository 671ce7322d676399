"""What a stage's pod says to the Kubernetes API: the few calls the pipeline makes from inside a cluster.

A driver that fails writes its error on its own SparkApplication (annotation ``breweries/error``),
where the workflow's exit handler reads it: Argo's own view of the step says only that the driver
exited. When a retry cannot fix the failure (a failed quality gate, a missing input, a bad setting:
breweries.errors) it also labels the application ``breweries/retryable=false``; the workflow's
failure condition reads that label, and its retry rule retries only the rest. The workflow's exit
handler deletes its SparkApplications that are still running, however it ended.

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
ERROR_ANNOTATION = "breweries/error"
RUN_DATE_LABEL = "breweries/run-date"
COMPONENT_LABEL = "app.kubernetes.io/component"
MAX_ERROR_CHARS = 2000  # an annotation, and a line of a chat message
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


def record_failure(exc: BaseException, application: str | None) -> None:
    """Write ``exc`` on this driver's SparkApplication and, when a retry cannot fix it, label the
    application not retryable. Never raises: the stage's own failure is what matters."""
    if not application or not in_cluster():
        return
    log = get_logger(component="cluster", spark_application=application)
    metadata: dict[str, Any] = {"annotations": {ERROR_ANNOTATION: _one_line(str(exc))}}
    if not can_retry(exc):
        metadata["labels"] = {RETRYABLE_LABEL: "false"}
    try:
        api = KubernetesApi()
        api.call(
            "PATCH",
            f"{api.applications()}/{application}",
            json={"metadata": metadata},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if "labels" in metadata:
            log.info(f"marked {application} {RETRYABLE_LABEL}=false: a retry cannot fix this failure")
    except Exception as error:
        log.warning(f"could not record the failure on {application}: {type(error).__name__}: {error}")


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 3] + "..."


def workflow_applications(workflow: str, api: KubernetesApi | None = None) -> list[dict[str, Any]]:
    """The workflow's SparkApplications, as the API server lists them."""
    api = api or KubernetesApi()
    listed = api.call("GET", api.applications(), params={"labelSelector": f"{WORKFLOW_LABEL}={workflow}"})
    return list(listed.get("items", []))


def driver_error(applications: list[dict[str, Any]], component: str, run_dates: set[str]) -> str | None:
    """The error the newest of ``component``'s drivers recorded for one of ``run_dates`` (any date
    when empty), or None when none recorded one."""
    recorded = [
        app
        for app in applications
        if app["metadata"].get("labels", {}).get(COMPONENT_LABEL) == component
        and (not run_dates or app["metadata"].get("labels", {}).get(RUN_DATE_LABEL) in run_dates)
        and ERROR_ANNOTATION in app["metadata"].get("annotations", {})
    ]
    if not recorded:
        return None
    newest = max(recorded, key=lambda app: str(app["metadata"].get("creationTimestamp", "")))
    return str(newest["metadata"]["annotations"][ERROR_ANNOTATION])


def delete_running_applications(workflow: str) -> list[str]:
    """Delete the workflow's SparkApplications that are not in a final state; their names."""
    api = KubernetesApi()
    deleted = []
    for application in workflow_applications(workflow, api):
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
