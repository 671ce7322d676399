"""The cluster's own parts failing under a real run (`make chaos`): the object store, the catalog,
the workflow controller and the Spark Operator restarted while a stage works, the same date
submitted twice at once, a schedule missed while the controller is down, and an API that
misbehaves from inside the cluster.

Each fault is injected at a moment the test observes, never after a fixed sleep: a stage's
SparkApplication RUNNING and its driver's "spark session started" line (the stage's Spark work has
begun), or the first data file of the date appearing in the table's bucket (the driver is writing).
The outcome is read through the Iceberg catalog and MinIO, as a reader sees it. Each case prints one
`chaos:` line with what it measured, which docs/failures.md's table is filled from.

Every run date is new to the lake (a random date far from the other tests'), so each case does a
stage's whole work whatever ran on the cluster before.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

import pytest
from tests.e2e import test_cluster_run as cluster_run
from tests.e2e.cluster import (
    FINAL,
    Workflow,
    component,
    get_json,
    kubectl,
    run,
    state,
    submit,
    tool,
    unavailable,
)
from tests.e2e.test_cluster_run import (
    GOLD,
    point_the_chart_at,
    snapshot_counts,
    stage_nodes,
    webhook_messages,
)

from breweries.pipeline import STAGES

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.chaos,
    pytest.mark.skipif(bool(unavailable()), reason=unavailable() or ""),
]

# The cluster run's fixtures: the e2e fixtures applied, the chart on its replay, MinIO and the catalog.
cluster, minio, lake = cluster_run.cluster, cluster_run.minio, cluster_run.lake

T = TypeVar("T")
TEMPLATE = "workflowtemplate/breweries"
FLAKY_API = "http://breweries-e2e-api-flaky:8080/v1"
SILENT_API = "http://breweries-e2e-api-silent:8080/v1"
SILVER = "silver.breweries"


@pytest.fixture(scope="module")
def dates() -> Iterator[str]:
    """Run dates no run of this lake has built: consecutive days from a random one."""
    first = date(2030, 1, 1) + timedelta(days=random.randrange(0, 60000))
    return (str(first + timedelta(days=n)) for n in range(1000))


def report(case: str, **measured: Any) -> None:
    """One line per case, with what it measured (docs/failures.md is filled from these)."""
    print(f"\nchaos: {json.dumps({'case': case, **measured}, default=str)}", flush=True)


def poll(
    what: str, found: Callable[[], T | None], *, timeout: float = 900, workflow: Workflow | None = None
) -> T:
    """``found()``'s first true value, asked every second; fails naming ``what`` after ``timeout``
    or once ``workflow`` has ended without it."""
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        if workflow is not None and workflow.phase in FINAL:
            raise AssertionError(f"{workflow.name} ended ({workflow.phase}) before {what}")
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(1)


def working_driver(workflow: Workflow, stage: str) -> str | None:
    """The stage's driver pod once its SparkApplication is RUNNING and the driver has started Spark."""
    for application in workflow.spark_applications():
        if component(application) != stage or state(application) != "RUNNING":
            continue
        pod = application["status"].get("driverInfo", {}).get("podName")
        if pod and "spark session started" in kubectl("logs", pod, check=False).stdout:
            return pod
    return None


def writing(minio, bucket: str, prefix: str) -> str | None:
    """The first object under ``prefix``: the driver has begun writing the date's data files."""
    listed = minio.client().list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    return next((o["Key"] for o in listed.get("Contents", [])), None)


def silver_prefix(run_date: str) -> str:
    return f"breweries/data/snapshot_date={run_date}/"


def gold_rows(lake, run_date: str) -> list[dict]:
    from pyiceberg.expressions import EqualTo

    table = lake.load_table(GOLD)
    return table.scan(row_filter=EqualTo("snapshot_date", run_date)).to_arrow().to_pylist()


def assert_gold_is_one_clean_run(lake, run_date: str, snapshot) -> None:
    """Gold for the date equals the independent count, each group once (nothing lost or doubled)."""
    rows = gold_rows(lake, run_date)
    groups = Counter((r["country"], r["state"], r["brewery_type"]) for r in rows)
    assert [g for g, n in groups.items() if n > 1] == [], "a group appears twice"
    assert {
        (r["country"], r["state"], r["brewery_type"]): r["brewery_count"] for r in rows
    } == snapshot_counts(snapshot)


def assert_silver_holds_each_record_once(lake, run_date: str, snapshot) -> None:
    from pyiceberg.expressions import EqualTo

    ids = lake.load_table(SILVER).scan(row_filter=EqualTo("snapshot_date", run_date), selected_fields=("id",))
    counted = Counter(ids.to_arrow().column("id").to_pylist())
    assert len(counted) == len(snapshot) and set(counted.values()) == {1}


def main_snapshots_between(lake, identifier: str, start: datetime, end: datetime) -> list:
    """The snapshots main's history gained between ``start`` and ``end``."""
    table = lake.load_table(identifier)
    low, high = start.timestamp() * 1000, end.timestamp() * 1000
    lineage = []
    snapshot = table.current_snapshot()
    while snapshot is not None and snapshot.timestamp_ms >= low:
        if snapshot.timestamp_ms <= high:
            lineage.append(snapshot)
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
    return lineage


def workflow_span(workflow: dict) -> tuple[datetime, datetime]:
    status = workflow["status"]
    return (
        datetime.fromisoformat(status["startedAt"].replace("Z", "+00:00")),
        datetime.fromisoformat(status["finishedAt"].replace("Z", "+00:00")),
    )


def one_application_per_attempt(workflow: Workflow) -> dict[str, tuple[int, int]]:
    """Per stage: (SparkApplications, attempts); equal when no attempt made two applications."""
    applications = Counter(component(a) for a in workflow.spark_applications())
    return {s.component: (applications[s.component], len(stage_nodes(workflow, s.component))) for s in STAGES}


def restart(namespace: str, deployment: str) -> tuple[datetime, float]:
    """Delete the deployment's pod and wait for its replacement to be ready: when it was deleted
    (UTC) and how many seconds the replacement took."""
    spec = json.loads(
        run(tool("kubectl"), "-n", namespace, "get", "deployment", deployment, "-o", "json").stdout
    )
    selector = ",".join(f"{k}={v}" for k, v in spec["spec"]["selector"]["matchLabels"].items())
    at, started = datetime.now(timezone.utc), time.monotonic()
    run(tool("kubectl"), "-n", namespace, "delete", "pod", "-l", selector, "--wait=false")
    time.sleep(1)  # the Deployment's status still says available until it sees the pod go
    rollout = ("rollout", "status", f"deployment/{deployment}", "--timeout", "300s")
    run(tool("kubectl"), "-n", namespace, *rollout, timeout=330)

    def replaced() -> bool:
        listed = run(tool("kubectl"), "-n", namespace, "get", "pods", "-l", selector, "-o", "json").stdout
        pods = json.loads(listed)["items"]
        # An empty list is not a ready replacement: the old pod can be gone before the new one exists.
        return bool(pods) and all(
            p["metadata"].get("deletionTimestamp") is None
            and all(c.get("ready") for c in p["status"].get("containerStatuses", [{}]))
            for p in pods
        )

    poll(f"a ready {deployment} pod", replaced, timeout=300)
    return at, round(time.monotonic() - started, 1)


def seconds_since(moment: datetime, later: datetime) -> float:
    return round((later - moment).total_seconds(), 1)


def restarted_while_silver_works(
    run_date: str, namespace: str, deployment: str
) -> tuple[Workflow, dict, str, datetime, float]:
    """A run of ``run_date`` whose ``deployment`` is restarted once silver's driver works; asserts
    the run Succeeded with one SparkApplication per stage attempt. Returns the workflow, its
    final state, the driver at work, when the fault was injected and how long the replacement took."""
    workflow = submit("--from", TEMPLATE, "-p", f"run-date={run_date}")
    driver = poll("silver's driver at work", lambda: working_driver(workflow, "silver"), workflow=workflow)
    fault_at, back_in = restart(namespace, deployment)
    ended = workflow.wait()
    assert ended["status"]["phase"] == "Succeeded", ended["status"].get("message")
    per_stage = one_application_per_attempt(workflow)
    assert all(apps == attempts for apps, attempts in per_stage.values()), per_stage
    return workflow, ended, driver, fault_at, back_in


# -- 5. the same date twice at once, and another date beside them ---------------------------------


def test_two_submissions_of_one_date_never_write_at_once_and_another_date_runs_beside(
    cluster, lake, snapshot, dates
) -> None:
    same, other = next(dates), next(dates)
    first = submit("--from", TEMPLATE, "-p", f"run-date={same}")
    second = submit("--from", TEMPLATE, "-p", f"run-date={same}")
    beside = submit("--from", TEMPLATE, "-p", f"run-date={other}")
    writers_at_once, waited, both_dates_at_once = 0, set(), False
    names = [w.name for w in (first, second, beside)]
    while True:  # one read of the three workflows and one of the dates' applications a round
        workflows = {
            w["metadata"]["name"]: w.get("status", {}) for w in get_json("workflows", *names)["items"]
        }
        if all(status.get("phase") in FINAL for status in workflows.values()):
            break
        applications = get_json("sparkapplications", "-l", f"breweries/run-date in ({same},{other})")["items"]
        owners = {
            a["metadata"]["labels"]["workflows.argoproj.io/workflow"]
            for a in applications
            if a["metadata"]["labels"]["breweries/run-date"] == same
            and state(a) not in ("COMPLETED", "FAILED")
        }
        writers_at_once = max(writers_at_once, len(owners))
        for name in (first.name, second.name):
            mutex = workflows[name].get("synchronization", {}).get("mutex", {})
            messages = [n.get("message", "") for n in workflows[name].get("nodes", {}).values()]
            if mutex.get("waiting") or any(m.startswith("Waiting for") for m in messages):
                waited.add(name)
        running_dates = {
            a["metadata"]["labels"]["breweries/run-date"] for a in applications if state(a) == "RUNNING"
        }
        both_dates_at_once |= running_dates == {same, other}
        time.sleep(1)
    phases = {w.name: w.phase for w in (first, second, beside)}
    assert set(phases.values()) == {"Succeeded"}, phases
    assert writers_at_once == 1, "two workflows ran a stage of the same date at once"
    assert len(waited) == 1, f"exactly one submission waits for the date's mutex: {waited}"
    [late] = [w for w in (first, second) if w.name in waited]
    # The one that waited found the date done: every stage skipped, nothing written twice.
    for application in late.spark_applications():
        driver = application["status"]["driverInfo"]["podName"]
        assert "already done for this date: skipped" in kubectl("logs", driver).stdout, driver
    assert_gold_is_one_clean_run(lake, same, snapshot)
    assert_gold_is_one_clean_run(lake, other, snapshot)
    spans = {w.name: workflow_span(w.get()) for w in (first, second, beside)}
    start = min(s for s, _ in spans.values())
    late_began = min(
        datetime.fromisoformat(a["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
        for a in late.spark_applications()
    )
    report(
        "5 same date twice + another date",
        dates=[same, other],
        max_workflows_writing_the_date_at_once=writers_at_once,
        waited_for_mutex=late.name,
        other_date_ran_beside=both_dates_at_once,
        seconds_to_all_succeeded=seconds_since(start, max(e for _, e in spans.values())),
        seconds_the_second_waited=seconds_since(spans[late.name][0], late_began),
    )


# -- 3. the workflow controller restarted mid-run --------------------------------------------------


def test_a_workflow_controller_restarted_mid_stage_resumes_the_run_once(
    cluster, lake, snapshot, dates
) -> None:
    run_date = next(dates)
    workflow, ended, driver, fault_at, back_in = restarted_while_silver_works(
        run_date, "argo", "workflow-controller"
    )
    per_stage = one_application_per_attempt(workflow)
    exit_steps = Counter(
        (n.get("templateName"), n["type"]) for n in workflow.nodes() if n["type"] in ("Steps", "Pod")
    )
    assert (exit_steps[("exit-handler", "Steps")], exit_steps[("cleanup", "Pod")]) == (1, 1), exit_steps
    assert_gold_is_one_clean_run(lake, run_date, snapshot)
    pods_started = [
        datetime.fromisoformat(n["startedAt"].replace("Z", "+00:00"))
        for n in workflow.nodes()
        if n["type"] == "Pod"
    ]
    resumed = min(t for t in pods_started if t > fault_at)
    report(
        "3 workflow controller restarted",
        run_date=run_date,
        injected=f"silver running ({driver} logged 'spark session started')",
        fault_at=fault_at,
        controller_ready_s=back_in,
        next_step_started_s=seconds_since(fault_at, resumed),
        succeeded_s_after_fault=seconds_since(fault_at, workflow_span(ended)[1]),
        applications_and_attempts=per_stage,
    )


# -- 4. the Spark Operator restarted mid-run -------------------------------------------------------


def test_a_spark_operator_restarted_mid_stage_leaves_the_run_succeeding(
    cluster, lake, snapshot, dates
) -> None:
    run_date = next(dates)
    workflow, ended, driver, fault_at, back_in = restarted_while_silver_works(
        run_date, "spark-operator", "spark-operator-controller"
    )
    assert_gold_is_one_clean_run(lake, run_date, snapshot)
    silver = [a for a in workflow.spark_applications() if component(a) == "silver"]
    report(
        "4 spark operator restarted",
        run_date=run_date,
        injected=f"silver running ({driver} logged 'spark session started')",
        fault_at=fault_at,
        operator_ready_s=back_in,
        silver_attempts=len(silver),
        silver_states=[state(a) for a in silver],
        succeeded_s_after_fault=seconds_since(fault_at, workflow_span(ended)[1]),
    )


# -- 1. the object store lost while silver writes --------------------------------------------------


def minio_keeps_its_data() -> str | None:
    """Why deleting MinIO's pod here would lose the lake, or None."""
    volumes = get_json("deployment", "breweries-minio")["spec"]["template"]["spec"]["volumes"]
    data = next(v for v in volumes if v["name"] == "data")
    if "emptyDir" in data:
        return (
            "the chart's MinIO keeps its data in an emptyDir (minio.persistence.enabled=false): deleting "
            "its pod loses every bucket, so this case needs minio.persistence (docs/failures.md)"
        )
    return None


def test_minio_lost_while_silver_writes_is_retried_and_its_files_stay_invisible(
    cluster, lake, minio, snapshot, dates
) -> None:
    if reason := minio_keeps_its_data():
        pytest.skip(reason)
    run_date = next(dates)
    workflow = submit("--from", TEMPLATE, "-p", f"run-date={run_date}")
    first = poll(
        "silver writing the date's files",
        lambda: writing(minio, "breweries-silver", silver_prefix(run_date)),
        timeout=900,
        workflow=workflow,
    )
    fault_at, back_in = restart("breweries", "breweries-minio")
    ended = workflow.wait()
    assert ended["status"]["phase"] == "Succeeded", ended["status"].get("message")
    attempts = stage_nodes(workflow, "silver")
    assert attempts[-1]["phase"] == "Succeeded"
    assert_gold_is_one_clean_run(lake, run_date, snapshot)
    assert_silver_holds_each_record_once(lake, run_date, snapshot)
    # Files of the date that no snapshot references: the failed attempt's, left for maintain.
    table = lake.load_table(SILVER)
    referenced = {
        f.file.file_path.split("/", 3)[3]
        for ref in table.refs().values()
        for f in table.scan(snapshot_id=ref.snapshot_id).plan_files()
        if f"snapshot_date={run_date}" in f.file.file_path
    }
    stored = {k for k in minio.keys("breweries-silver") if k.startswith(silver_prefix(run_date))}
    orphans = stored - referenced
    report(
        "1 minio pod deleted while silver writes",
        run_date=run_date,
        injected=f"first data file of the date in MinIO ({first})",
        fault_at=fault_at,
        minio_ready_s=back_in,
        silver_attempts=len(attempts),
        succeeded_s_after_fault=seconds_since(fault_at, workflow_span(ended)[1]),
        orphan_files=len(orphans),
    )


# -- 2. the catalog restarted during a commit ------------------------------------------------------


def test_the_catalog_restarted_while_silver_commits_converges_without_a_lost_or_doubled_snapshot(
    cluster, lake, minio, snapshot, dates
) -> None:
    run_date = next(dates)
    workflow = submit("--from", TEMPLATE, "-p", f"run-date={run_date}")
    first = poll(
        "silver writing the date's files",
        lambda: writing(minio, "breweries-silver", silver_prefix(run_date)),
        timeout=900,
        workflow=workflow,
    )
    # The catalog is a StatefulSet: its pod deleted, it comes back on the same volume.
    at, started = datetime.now(timezone.utc), time.monotonic()
    kubectl("delete", "pod", "breweries-postgresql-0", "--wait=false")
    time.sleep(1)
    kubectl("rollout", "status", "statefulset/breweries-postgresql", "--timeout", "300s", timeout=330)
    poll(
        "the catalog's pod ready",
        lambda: all(c.get("ready") for c in get_json("pod", "breweries-postgresql-0")["status"].get(
            "containerStatuses", [{}]
        )),
        timeout=300,
    )  # fmt: skip
    back_in = round(time.monotonic() - started, 1)
    ended = workflow.wait()
    assert ended["status"]["phase"] == "Succeeded", ended["status"].get("message")
    start, end = workflow_span(ended)
    # One date run: main gains one snapshot per table, whatever attempt committed it.
    gained = {t: len(main_snapshots_between(lake, t, start, end)) for t in (SILVER, GOLD)}
    assert gained == {SILVER: 1, GOLD: 1}, gained
    assert_silver_holds_each_record_once(lake, run_date, snapshot)
    assert_gold_is_one_clean_run(lake, run_date, snapshot)
    report(
        "2 catalog restarted during silver's commit",
        run_date=run_date,
        injected=f"first data file of the date in MinIO ({first})",
        fault_at=at,
        catalog_ready_s=back_in,
        silver_attempts=len(stage_nodes(workflow, "silver")),
        main_snapshots_gained=gained,
        succeeded_s_after_fault=seconds_since(at, end),
    )


# -- 7. the API misbehaving from inside the cluster ------------------------------------------------


@pytest.fixture(scope="module")
def faulty_apis(cluster) -> None:
    for deployment in ("breweries-e2e-api-flaky", "breweries-e2e-api-silent"):
        kubectl("rollout", "restart", f"deployment/{deployment}")  # faults counted from zero
        kubectl("rollout", "status", f"deployment/{deployment}", "--timeout", "180s", timeout=240)


def test_503s_and_a_429_from_the_api_are_absorbed_by_bronzes_retries(
    cluster, faulty_apis, lake, snapshot, dates
) -> None:
    run_date = next(dates)
    point_the_chart_at(FLAKY_API)
    try:
        workflow = submit("--from", TEMPLATE, "-p", f"run-date={run_date}")
        ended = workflow.wait()
    finally:
        point_the_chart_at(None)
    assert ended["status"]["phase"] == "Succeeded", ended["status"].get("message")
    [bronze] = [a for a in workflow.spark_applications() if component(a) == "bronze"]
    assert len(stage_nodes(workflow, "bronze")) == 1  # the client absorbed them, not Argo
    logs = kubectl("logs", bronze["status"]["driverInfo"]["podName"]).stdout
    events = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    warnings = [e["message"] for e in events if e.get("level") == "warning"]
    assert any("503" in w for w in warnings) and any("429" in w for w in warnings), warnings
    assert_gold_is_one_clean_run(lake, run_date, snapshot)
    start, end = workflow_span(ended)
    report(
        "7a API 503 x3 and 429 Retry-After",
        run_date=run_date,
        bronze_attempts=1,
        retries_logged=len(warnings),
        bronze_s=seconds_since(*map(lambda n: datetime.fromisoformat(n.replace("Z", "+00:00")), (
            stage_nodes(workflow, "bronze")[0]["startedAt"], stage_nodes(workflow, "bronze")[0]["finishedAt"]
        ))),
        succeeded_s=seconds_since(start, end),
    )  # fmt: skip


def test_an_api_that_never_answers_fails_bronze_once_with_one_message_naming_it(
    cluster, faulty_apis, minio, dates
) -> None:
    run_date = next(dates)
    sent_before = len(webhook_messages())
    point_the_chart_at(SILENT_API)
    try:
        workflow = submit("--from", TEMPLATE, "-p", f"run-date={run_date}")
        ended = workflow.wait(timeout=1200)
    finally:
        point_the_chart_at(None)
    assert ended["status"]["phase"] == "Failed"
    assert len(stage_nodes(workflow, "bronze")) == 1  # not retried by Argo: the client gave up
    assert [component(a) for a in workflow.spark_applications()] == ["bronze"]
    messages = webhook_messages()[sent_before:]
    assert len(messages) == 1, messages
    [message] = messages
    assert message["run_date"] == run_date and message["stage"] == "bronze"
    assert SILENT_API.removesuffix("/v1") in json.dumps(message), message
    assert not [k for k in minio.keys("breweries-bronze") if run_date in k]
    start, end = workflow_span(ended)
    report(
        "7b API never answers",
        run_date=run_date,
        outcome=ended["status"]["phase"],
        failed_after_s=seconds_since(start, end),
        webhook_messages=len(messages),
        message_error=str(message.get("error", ""))[:200],
    )


# -- 6. a schedule missed while the workflow controller is down ------------------------------------


def test_a_schedule_missed_while_the_controller_is_down_runs_once_after_it_returns(cluster) -> None:
    daily = get_json("cronworkflow", "breweries-daily")["spec"]
    policy, deadline = daily["concurrencyPolicy"], daily["startingDeadlineSeconds"]
    assert (policy, deadline) == ("Forbid", 3600)  # values.yaml's cron.*: chosen, documented there
    name = "breweries-e2e-chaos-cron"
    # The chart's template and policy, every second minute, on a step that does no Spark work
    # (the exit handler's cleanup of a workflow with no application): what is tested is when the
    # controller creates workflows, not the pipeline.
    cron = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "breweries-e2e"}},
        "spec": {
            "schedules": ["*/2 * * * *"],
            "timezone": "UTC",
            "concurrencyPolicy": policy,
            "startingDeadlineSeconds": deadline,
            "workflowSpec": {
                "workflowTemplateRef": {"name": "breweries"},
                "entrypoint": "cleanup",
            },
        },
    }
    remove = (("cronworkflow", name), ("workflows", "-l", f"workflows.argoproj.io/cron-workflow={name}"))
    for what in remove:
        kubectl("delete", *what, "--ignore-not-found")
    kubectl("apply", "-f", "-", stdin=json.dumps(cron))

    def created() -> list[dict]:
        selector = f"workflows.argoproj.io/cron-workflow={name}"
        return get_json("workflows", "-l", selector)["items"]

    def phase(workflow: dict) -> str:
        return workflow.get("status", {}).get("phase", "")

    def scheduled(workflow: dict) -> str:
        return workflow["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"]

    try:
        # The first scheduled run records the schedule as in use (Argo runs no missed schedule of a
        # CronWorkflow that never ran).
        poll("the first scheduled run", created, timeout=200)

        def at(workflow: dict) -> datetime:
            return datetime.fromisoformat(scheduled(workflow).replace("Z", "+00:00"))

        while True:  # a schedule far enough ahead to stop the controller before it, none running
            poll(
                "no run of the schedule running",
                lambda: all(phase(w) in FINAL for w in created()),
                timeout=300,
            )
            now = datetime.now(timezone.utc)
            missed = (now + timedelta(minutes=2 - now.minute % 2)).replace(second=0, microsecond=0)
            if missed - now >= timedelta(seconds=40):
                break
            poll("the next scheduled run", lambda m=missed: [w for w in created() if at(w) == m], timeout=200)
        controller = ("-n", "argo", "scale", "deployment/workflow-controller")
        selector = "app=workflow-controller"
        run(tool("kubectl"), *controller, "--replicas=0")
        try:
            poll(
                "the controller gone",
                lambda: (
                    not json.loads(
                        run(tool("kubectl"), "-n", "argo", "get", "pods", "-l", selector, "-o", "json").stdout
                    )["items"]
                ),
                timeout=120,
            )
            down_at = datetime.now(timezone.utc)
            while datetime.now(timezone.utc) < missed + timedelta(seconds=20):
                time.sleep(1)  # the clock, not the cluster: the schedule passes while nothing runs it
        finally:
            run(tool("kubectl"), *controller, "--replicas=1")
        up_at = datetime.now(timezone.utc)
        caught_up = poll(
            "the missed schedule's run", lambda: [w for w in created() if at(w) == missed], timeout=180
        )
        ran_at = datetime.now(timezone.utc)
        # Until just before the next regular schedule, nothing else may appear.
        following = missed + timedelta(minutes=2)
        while datetime.now(timezone.utc) < following - timedelta(seconds=5):
            time.sleep(1)
        runs = Counter(scheduled(w) for w in created())
        assert [t for t, n in runs.items() if n > 1] == [], runs
        assert len([w for w in created() if at(w) == missed]) == 1, runs
        report(
            "6 cron schedule missed while the controller is down",
            policy=policy,
            starting_deadline_s=deadline,
            controller_down=f"{down_at:%H:%M:%S}-{up_at:%H:%M:%S}",
            missed_schedule=missed,
            runs_for_missed_schedule=runs[scheduled(caught_up[0])],
            created_s_after_controller_back=seconds_since(up_at, ran_at),
        )
    finally:
        for what in remove:
            kubectl("delete", *what, "--ignore-not-found")
