"""The chart's Spark History Server after a real run: each of the run's five SparkApplications is one
application in its REST API, named by stage, run date and Argo workflow, read from the event logs
the drivers wrote to the chart's MinIO. `make cluster-up` turns it on (historyServer.enabled)."""

from __future__ import annotations

import json
import time

import pytest
import requests
from tests.e2e.cluster import Workflow, kubectl, port_forward, release_values, submit, unavailable

from breweries.pipeline import STAGES

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "")]

# A date of its own, forced: every stage runs (none is skipped as already done), so every stage's
# driver starts Spark and writes an event log, however often the test runs.
RUN_DATE = "2026-06-10"
SERVICE = "svc/breweries-history-server"


@pytest.fixture(scope="module")
def history_server_on() -> None:
    if not release_values().get("historyServer", {}).get("enabled"):
        pytest.skip("the release runs no History Server: install the chart with historyServer.enabled=true")
    kubectl("rollout", "status", "deployment/breweries-history-server", "--timeout", "180s", timeout=240)


@pytest.fixture(scope="module")
def forced_run(history_server_on) -> Workflow:
    workflow = submit(
        "--from", "workflowtemplate/breweries", "-p", f"run-date={RUN_DATE}", "-p", "force=true"
    )  # fmt: skip
    workflow.wait()
    return workflow


def listed_applications(port: int, workflow: str, expected: int, timeout: float = 120) -> list[dict]:
    """The History Server's applications of ``workflow``, once it lists ``expected`` of them (it
    looks for new logs every updateInterval)."""
    deadline = time.monotonic() + timeout
    while True:
        every = requests.get(f"http://127.0.0.1:{port}/api/v1/applications", timeout=10).json()
        mine = [a for a in every if a["name"].endswith(f"-{workflow}")]
        if len(mine) >= expected or time.monotonic() > deadline:
            return mine
        time.sleep(2)


def test_the_history_server_lists_the_runs_five_applications_by_stage_date_and_workflow(forced_run) -> None:
    assert forced_run.phase == "Succeeded", forced_run.get()["status"].get("message")
    with port_forward(SERVICE, 18080) as port:
        applications = listed_applications(port, forced_run.name, len(STAGES))
        print(json.dumps(applications, indent=1))  # the list as the API gave it, for the record
    names = sorted(a["name"] for a in applications)
    assert names == sorted(f"breweries-{s.name}-{RUN_DATE}-{forced_run.name}" for s in STAGES)
    for application in applications:
        (attempt,) = application["attempts"]
        assert attempt["completed"] is True and attempt["appSparkVersion"] == "4.0.1", application
    # Each is the run's own: it started after the workflow did, one per SparkApplication.
    started = forced_run.get()["status"]["startedAt"]
    assert all(a["attempts"][0]["startTime"][:19] >= started[:19] for a in applications)
    assert len({a["id"] for a in applications}) == len(STAGES)


def test_no_driver_of_the_run_warned_about_its_event_log(forced_run) -> None:
    for application in forced_run.spark_applications():
        logs = kubectl("logs", application["status"]["driverInfo"]["podName"]).stdout
        assert "spark event log off" not in logs, application["metadata"]["name"]
