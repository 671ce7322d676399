"""Metrics that something scrapes: the cluster's Prometheus (k8s/tools/prometheus.sh, namespace
monitoring) scrapes Argo's workflow controller and the Spark Operator, and after a real run its HTTP
API answers with that run's duration and the count of runs by outcome, as an operator would ask it
(README.md#metrics). While Prometheus cannot reach the controller, the run goes on all the same:
nothing of the pipeline waits for it.

The run uses the release upgraded to this checkout's chart, whose WorkflowTemplate defines the
metrics (as tests/e2e/test_cluster_run.py does).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from tests.e2e.cluster import (
    Workflow,
    component,
    finished,
    helm,
    port_forward,
    run,
    started,
    state,
    submit,
    tool,
    unavailable,
)

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "")]

MONITORING = "monitoring"
RUN_DATE = "2026-08-10"
# Argo's controller exports a WorkflowTemplate's metrics under this prefix.
DURATION = "argo_workflows_breweries_workflow_duration_seconds"
RESULTS = "argo_workflows_breweries_workflow_result_total"
LAST_RUN = "argo_workflows_breweries_workflow_last_run_timestamp_seconds"
STAGE_DURATION = "argo_workflows_breweries_stage_duration_seconds"
# Lets into the controller's pods only what its liveness probe needs (port 6060): its metrics port,
# 9090, becomes unreachable.
NO_METRICS_POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: breweries-e2e-no-metrics
  namespace: argo
spec:
  podSelector:
    matchLabels:
      app: workflow-controller
  policyTypes: [Ingress]
  ingress:
    - ports:
        - {protocol: TCP, port: 6060}
"""


def kubectl(*args: str, **kwargs: Any):
    return run(tool("kubectl"), *args, **kwargs)


def prometheus_missing() -> str | None:
    probe = kubectl("-n", MONITORING, "get", "deployment", "prometheus", check=False, timeout=30)
    if probe.returncode != 0:
        reason = probe.stderr.strip()[:200]
        return f"no Prometheus in namespace {MONITORING} (make prometheus deploys it): {reason}"
    return None


class Prometheus:
    """Prometheus's HTTP API, reached through `kubectl port-forward` of its Service."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector PROMQL evaluates to now: [{"metric": {labels}, "value": [time, "value"]}]."""
        response = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=30)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", f"{promql}: {body}"
        return body["data"]["result"]

    def value(self, promql: str) -> float | None:
        """The single value PROMQL evaluates to, or None when it evaluates to nothing."""
        result = self.query(promql)
        assert len(result) <= 1, f"{promql} gave {len(result)} series: {result}"
        return float(result[0]["value"][1]) if result else None

    def wait(
        self, what: str, promql: str, accept: Callable[[float | None], bool], timeout: float = 180
    ) -> float | None:
        deadline = time.monotonic() + timeout
        while True:
            value = self.value(promql)
            if accept(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: {promql} was still {value} after {timeout:.0f} s")
            time.sleep(3)

    def target(self, job: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}/api/v1/targets", params={"state": "active"}, timeout=30)
        targets = [t for t in response.json()["data"]["activeTargets"] if t["labels"]["job"] == job]
        assert len(targets) == 1, f"expected one {job} target, Prometheus has {targets}"
        return targets[0]


@contextlib.contextmanager
def prometheus() -> Iterator[Prometheus]:
    kubectl("-n", MONITORING, "rollout", "status", "deployment/prometheus", "--timeout", "180s")
    # A restarted pod drops the port-forward's connection: each use gets a forward of its own.
    with port_forward("service/prometheus", 9090, namespace=MONITORING) as port:
        yield Prometheus(f"http://127.0.0.1:{port}")


def restart_prometheus() -> None:
    """A new Prometheus pod: scrapes on new connections (a NetworkPolicy governs new connections
    only, and the old pod's to the controller stay open). Its data is in the pod: it starts empty."""
    kubectl("-n", MONITORING, "rollout", "restart", "deployment/prometheus")
    kubectl("-n", MONITORING, "rollout", "status", "deployment/prometheus", "--timeout", "180s")


def show(api: Prometheus, promql: str) -> None:
    """What an operator sees when asking Prometheus's HTTP API, printed for the record."""
    print(f"GET /api/v1/query?query={promql}\n  -> {json.dumps(api.query(promql))}")


def epoch(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())


@pytest.fixture(scope="module")
def release_with_metrics() -> None:
    missing = prometheus_missing()
    if missing:
        pytest.skip(missing)
    # --reset-then-reuse-values: the installed values over this chart's defaults.
    helm(
        "upgrade",
        "breweries",
        "helm/breweries",
        "--reset-then-reuse-values",
        "--wait",
        "--set",
        "workflow.metrics=true",
    )


def test_prometheus_scrapes_argo_and_the_spark_operator(release_with_metrics) -> None:
    with prometheus() as api:
        for job in ("argo-workflow-controller", "spark-operator"):
            api.wait(f"Prometheus scraping {job}", f'up{{job="{job}"}}', lambda up: up == 1)
        # Each target's own metrics, not just its answering: the controller's queue, the operator's
        # controller-runtime workers.
        assert api.query('argo_workflows_queue_depth_gauge{job="argo-workflow-controller"}')
        assert api.query('controller_runtime_active_workers{job="spark-operator"}')


def test_a_run_s_duration_and_outcome_reach_prometheus_even_while_it_cannot_scrape(
    release_with_metrics,
) -> None:
    with prometheus() as api:
        succeeded_before = api.value(f'sum({RESULTS}{{status="Succeeded"}})') or 0.0
        spark_successes_before = (
            api.value('sum(spark_application_success_count{job="spark-operator"})') or 0.0
        )

    kubectl("apply", "-f", "-", stdin=NO_METRICS_POLICY)
    try:
        restart_prometheus()
        with prometheus() as api:
            api.wait(
                "Prometheus failing to reach the controller",
                'up{job="argo-workflow-controller"}',
                lambda up: up == 0,
            )
            unreachable = api.target("argo-workflow-controller")
            assert unreachable["health"] == "down" and unreachable["lastError"], unreachable
            print(f"while blocked, Prometheus says of {unreachable['scrapeUrl']}: {unreachable['lastError']}")

        workflow: Workflow = submit(
            "--from", "workflowtemplate/breweries", "-p", f"run-date={RUN_DATE}", "-p", "force=true"
        )
        done = workflow.wait()
        # The outcome is the pipeline's own, whatever Prometheus could reach.
        assert done["status"]["phase"] == "Succeeded", done["status"].get("message")
    finally:
        kubectl("delete", "-f", "-", "--ignore-not-found", stdin=NO_METRICS_POLICY)

    created = epoch(done["metadata"]["creationTimestamp"])
    duration = (finished(done["status"]) - started(done["status"])).total_seconds()
    with prometheus() as api:
        api.wait(
            "this run's start time in Prometheus", f'{LAST_RUN}{{status="Succeeded"}}', lambda v: v == created
        )
        reported = api.value(f'{DURATION}{{status="Succeeded"}}')
        # workflow.duration is Argo's estimate at the end: within seconds of the recorded times.
        assert reported is not None and abs(reported - duration) <= 10, (reported, duration)
        assert api.value(f'sum({RESULTS}{{status="Succeeded"}})') == succeeded_before + 1
        stages = {
            s["metric"]["stage"]: float(s["value"][1])
            for s in api.query(f'{STAGE_DURATION}{{status="Succeeded"}}')
        }
        applications = workflow.spark_applications()
        assert {component(a) for a in applications} <= set(stages)
        assert all(0 < seconds <= duration for seconds in stages.values()), stages
        completed = sum(state(a) == "COMPLETED" for a in applications)
        assert (
            api.value('sum(spark_application_success_count{job="spark-operator"})') or 0
        ) >= spark_successes_before + completed
        print(f"workflow {workflow.name}: created {created}, ran {duration:.0f} s, Succeeded")
        for promql in (
            f'{DURATION}{{status="Succeeded"}}',
            f"sum by (status) ({RESULTS})",
            f"{LAST_RUN}",
            f'{STAGE_DURATION}{{status="Succeeded"}}',
            'up{job=~"argo-workflow-controller|spark-operator"}',
        ):
            show(api, promql)
