"""The product on a real cluster, as a user runs it: `argo submit` of the WorkflowTemplate the chart
installs, five SparkApplications run by the Spark Operator, data in the chart's MinIO, the tables in
the Iceberg catalog on the chart's PostgreSQL, and what can go wrong: an empty source, a lost driver,
a restarted catalog, a stopped workflow. `make cluster-up`, then `make e2e`.

The API is served inside the cluster by the chart's own replay (apiReplay.enabled), and an empty
source and a webhook sink that keeps what the exit handler posts by tests/e2e/manifests/fixtures.yaml.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timezone

import pytest
import requests
from tests.e2e.cluster import (
    EMPTY_API,
    Workflow,
    apply_fixtures,
    argo,
    chart_catalog,
    chart_minio,
    component,
    finished,
    kubectl,
    point_the_chart_at,
    port_forward,
    release_values,
    secret_values,
    started,
    state,
    submit,
    unavailable,
    webhook_messages,
)
from tests.s3_server import S3Server

from breweries.pipeline import STAGES, TABLES

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "")]

RUN_DATE, EMPTY_DATE, LOST_DRIVER_DATE = "2026-06-01", "2026-06-02", "2026-06-03"
EXECUTORS_DATE, BAD_THRESHOLD_DATE = "2026-06-04", "2026-06-05"
GOLD = "gold.breweries_by_type_location"


@pytest.fixture(scope="module")
def cluster():
    """The e2e fixtures applied (in the chart's own base image) and the chart pointed at them."""
    apply_fixtures()
    point_the_chart_at(None)
    yield
    point_the_chart_at(None)


@pytest.fixture(scope="module")
def minio(cluster) -> S3Server:
    return chart_minio()


@pytest.fixture(scope="module")
def lake(cluster, minio):
    return chart_catalog(minio)


def gold_counts(lake, run_date: str) -> dict:
    """Gold for the date, read through the catalog: what its main branch publishes now."""
    from pyiceberg.expressions import EqualTo

    rows = lake.load_table(GOLD).scan(row_filter=EqualTo("snapshot_date", run_date)).to_arrow().to_pylist()
    return {(r["country"], r["state"], r["brewery_type"]): r["brewery_count"] for r in rows}


def snapshot_counts(snapshot) -> dict:
    return dict(Counter((r["country"], r["state_province"], r["brewery_type"]) for r in snapshot))


def stage_nodes(workflow: Workflow, stage: str) -> list[dict]:
    """The pods of a stage's step, one per attempt, oldest first."""
    nodes = [n for n in workflow.nodes() if n.get("templateName") == stage and n["type"] == "Pod"]
    return sorted(nodes, key=started)


@pytest.fixture(scope="module")
def first_run(cluster) -> Workflow:
    workflow = submit("--from", "workflowtemplate/breweries", "-p", f"run-date={RUN_DATE}")
    workflow.wait()
    return workflow


def test_a_submitted_run_succeeds_with_one_spark_application_per_stage(first_run) -> None:
    assert first_run.phase == "Succeeded", first_run.get()["status"].get("message")
    applications = first_run.spark_applications()
    by_component = Counter(component(a) for a in applications)
    assert by_component == Counter(stage.component for stage in STAGES)
    assert {state(a) for a in applications} == {"COMPLETED"}


def driver_events(application: dict) -> list[dict]:
    logs = kubectl("logs", application["status"]["driverInfo"]["podName"]).stdout
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def test_a_small_run_does_its_spark_work_inside_each_driver_and_starts_no_executor(first_run) -> None:
    # The snapshot's bronze (a few MB) is below spark.executorsAbove (values.yaml): no stage waits
    # for an executor pod.
    for application in first_run.spark_applications():
        assert not application["status"].get("executorState"), component(application)
        if component(application) == "bronze":
            continue  # no Spark work (with an event log, a session in the driver for the log alone)
        [placement] = [e for e in driver_events(application) if e["message"].startswith("spark runs")]
        assert placement["message"] == "spark runs inside the driver", placement
        assert 0 < placement["bronze_bytes"] < 256 * 2**20


def test_above_the_threshold_every_spark_stage_runs_on_executor_pods_with_the_same_gold(
    cluster, lake, snapshot
) -> None:
    workflow = submit(
        "--from", "workflowtemplate/breweries", "-p", f"run-date={EXECUTORS_DATE}",
        "-p", "spark-executors-above=0",
    )  # fmt: skip
    assert workflow.wait()["status"]["phase"] == "Succeeded"
    for application in workflow.spark_applications():
        if component(application) == "bronze":
            continue
        # The operator may report executors it saw stopped at the driver's exit as FAILED: what
        # counts is that they existed and the application completed.
        assert application["status"].get("executorState"), component(application)
        assert state(application) == "COMPLETED", component(application)
        [placement] = [e for e in driver_events(application) if e["message"].startswith("spark runs")]
        assert placement["message"] == "spark runs on the executors", placement
    assert gold_counts(lake, EXECUTORS_DATE) == snapshot_counts(snapshot)


def test_a_threshold_that_is_not_a_size_fails_the_first_stage_once_naming_it(cluster) -> None:
    workflow = submit(
        "--from", "workflowtemplate/breweries", "-p", f"run-date={BAD_THRESHOLD_DATE}",
        "-p", "spark-executors-above=lots",
    )  # fmt: skip
    assert workflow.wait(timeout=600)["status"]["phase"] == "Failed"
    [bronze] = workflow.spark_applications()
    assert (
        component(bronze) == "bronze" and bronze["metadata"]["labels"].get("breweries/retryable") == "false"
    )
    assert len(stage_nodes(workflow, "bronze")) == 1
    errors = [e for e in driver_events(bronze) if e.get("level") == "error"]
    assert any("BREWERIES_SPARK_EXECUTORS_ABOVE must be a size" in e["message"] for e in errors), errors


def test_gold_read_through_the_catalog_equals_an_independent_count_of_what_the_api_served(
    first_run, lake, snapshot
) -> None:
    # Every table the stages write is in the catalog, with a current snapshot.
    listed = {
        ".".join(ident) for namespace in lake.list_namespaces() for ident in lake.list_tables(namespace)
    }
    assert {t.identifier for t in TABLES} <= listed
    for table in TABLES:
        assert lake.load_table(table.identifier).current_snapshot() is not None, table.identifier
    assert gold_counts(lake, RUN_DATE) == snapshot_counts(snapshot)


@pytest.fixture(scope="module")
def trino_server(cluster, tmp_path_factory):
    """The chart's Trino as its README reaches it: `kubectl port-forward svc/breweries-trino 8443`,
    HTTPS checked against the certificate cluster-up gave it. Yields (port, certificate file)."""
    certificate = tmp_path_factory.mktemp("trino") / "ca.crt"
    certificate.write_text(secret_values("breweries-trino-clients")["ca.crt"])
    with port_forward("svc/breweries-trino", 8443) as port:
        yield port, str(certificate)


def trino_query(server, user: str, sql: str, password: str | None = None) -> list[tuple]:
    """``sql`` run by ``user`` on the chart's Trino, with the trial password cluster-up gave that
    user unless ``password`` says otherwise."""
    import trino

    port, certificate = server
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the certificate to check
    session.verify = certificate
    connection = trino.dbapi.connect(
        host="localhost",
        port=port,
        user=user,
        auth=trino.auth.BasicAuthentication(user, password or secret_values("breweries-trino-clients")[user]),
        http_scheme="https",
        http_session=session,
        catalog="lake",
        request_timeout=120,
    )
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def test_gold_queried_through_trino_by_the_analyst_equals_an_independent_count(
    first_run, trino_server, snapshot
) -> None:
    rows = trino_query(
        trino_server,
        "analyst",
        f"SELECT country, state, brewery_type, brewery_count FROM lake.{GOLD} "
        f"WHERE snapshot_date = DATE '{RUN_DATE}'",
    )
    assert {(country, region, kind): n for country, region, kind, n in rows} == snapshot_counts(snapshot)


def test_raw_silver_is_denied_to_the_analyst_and_read_by_the_engineer(
    first_run, trino_server, snapshot
) -> None:
    import trino

    query = f"SELECT count(*) FROM lake.silver.breweries WHERE snapshot_date = DATE '{RUN_DATE}'"
    with pytest.raises(trino.exceptions.TrinoUserError) as denied:
        trino_query(trino_server, "analyst", query)
    assert denied.value.error_name == "PERMISSION_DENIED"
    assert "Cannot select from table lake.silver.breweries" in denied.value.message
    assert trino_query(trino_server, "engineer", query) == [(len(snapshot),)]
    # The analyst still reads the pseudonymized layer, and only sees the layers it may read.
    anonymized = query.replace("lake.silver.", "lake.silver_anonymized.")
    assert trino_query(trino_server, "analyst", anonymized) == [(len(snapshot),)]
    schemas = {schema for (schema,) in trino_query(trino_server, "analyst", "SHOW SCHEMAS FROM lake")}
    assert {"gold", "silver_anonymized"} <= schemas and "silver" not in schemas, schemas


def test_a_wrong_trino_password_is_refused(trino_server) -> None:
    import trino

    with pytest.raises(trino.exceptions.HttpError) as refused:
        trino_query(trino_server, "engineer", "SELECT 1", password="not-the-password")
    assert "401" in str(refused.value)


def test_no_driver_logs_the_catalogs_password(first_run) -> None:
    values = release_values()["catalog"]
    password = secret_values(values["credentials"]["secretName"])[values["credentials"]["passwordKey"]]
    for stage in STAGES:
        selector = f"spark-role=driver,app.kubernetes.io/component={stage.component}"
        assert password not in kubectl("logs", "-l", selector, "--tail=-1").stdout, stage.name


def test_the_catalog_keeps_the_tables_when_its_pod_restarts(first_run, lake) -> None:
    before = {t.identifier: lake.load_table(t.identifier).current_snapshot().snapshot_id for t in TABLES}
    kubectl("delete", "pod", "breweries-postgresql-0", "--wait=true", timeout=180)
    kubectl("rollout", "status", "statefulset/breweries-postgresql", "--timeout", "180s", timeout=240)
    deadline = time.monotonic() + 120
    while True:  # the Service answers once the new pod is ready
        try:
            after = {
                t.identifier: lake.load_table(t.identifier).current_snapshot().snapshot_id for t in TABLES
            }
            break
        except Exception:  # the connection is refused until PostgreSQL is up again
            assert time.monotonic() < deadline, "the catalog did not answer after its pod restarted"
            time.sleep(2)
    assert after == before


def test_the_readmes_log_command_shows_each_stages_json_lines(first_run) -> None:
    for stage in STAGES:
        selector = f"spark-role=driver,app.kubernetes.io/component={stage.component}"
        logs = kubectl("logs", "-l", selector, "--tail=-1").stdout
        lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
        mine = [e for e in lines if e.get("stage") == stage.name and e.get("run_date") == RUN_DATE]
        assert any(e["message"] == "finished" for e in mine), stage.name


def test_rerunning_the_date_skips_every_stage(first_run, minio) -> None:
    records = {key: minio.client().head_object(Bucket="breweries-state", Key=key)["ETag"]
               for key in minio.keys("breweries-state") if f"run_date={RUN_DATE}" in key}  # fmt: skip
    rerun = submit("--from", "workflowtemplate/breweries", "-p", f"run-date={RUN_DATE}")
    assert rerun.wait()["status"]["phase"] == "Succeeded"
    for application in rerun.spark_applications():
        driver = application["status"]["driverInfo"]["podName"]
        assert "already done for this date: skipped" in kubectl("logs", driver).stdout, driver
    assert {
        key: minio.client().head_object(Bucket="breweries-state", Key=key)["ETag"] for key in records
    } == records


def test_force_rebuilds_every_stage(first_run, minio, lake, snapshot) -> None:
    before = {key: minio.client().head_object(Bucket="breweries-state", Key=key)["LastModified"]
              for key in minio.keys("breweries-state") if f"run_date={RUN_DATE}" in key}  # fmt: skip
    forced = submit("--from", "workflowtemplate/breweries", "-p", f"run-date={RUN_DATE}", "-p", "force=true")
    assert forced.wait()["status"]["phase"] == "Succeeded"
    after = {
        key: minio.client().head_object(Bucket="breweries-state", Key=key)["LastModified"] for key in before
    }
    assert len(before) == len(STAGES) and all(after[key] > before[key] for key in before)
    assert gold_counts(lake, RUN_DATE) == snapshot_counts(snapshot)


def test_an_empty_source_fails_at_the_quality_gate_once_and_notifies(cluster, minio) -> None:
    sent_before = len(webhook_messages())
    point_the_chart_at(EMPTY_API)
    try:
        workflow = submit("--from", "workflowtemplate/breweries", "-p", f"run-date={EMPTY_DATE}")
        assert workflow.wait()["status"]["phase"] == "Failed"
    finally:
        point_the_chart_at(None)
    # The gate is not retried: a failed check is not transient. One application, labelled so.
    quality = [
        a
        for a in workflow.spark_applications()
        if a["metadata"]["labels"]["app.kubernetes.io/component"] == "quality"
    ]
    assert len(quality) == 1 and state(quality[0]) == "FAILED"
    assert quality[0]["metadata"]["labels"].get("breweries/retryable") == "false"
    assert len(stage_nodes(workflow, "quality")) == 1
    assert not [k for k in minio.keys("breweries-gold") if f"snapshot_date={EMPTY_DATE}" in k]  # no gold
    messages = webhook_messages()[sent_before:]
    assert len(messages) == 1
    [message] = messages
    assert message["workflow"] == workflow.name and message["run_date"] == EMPTY_DATE
    assert message["stage"] == "quality"
    assert "table_not_empty" in {check["name"] for check in message["failed_checks"]}


def test_a_driver_pod_deleted_mid_stage_is_retried_with_backoff_and_the_run_succeeds(
    cluster, lake, snapshot
) -> None:
    workflow = submit("--from", "workflowtemplate/breweries", "-p", f"run-date={LOST_DRIVER_DATE}")
    deadline = time.monotonic() + 1200
    while True:  # silver's driver, once it runs
        apps = workflow.spark_applications()
        running = [a for a in apps if component(a) == "silver" and state(a) == "RUNNING"]
        if running:
            break
        assert time.monotonic() < deadline and workflow.phase not in ("Failed", "Error"), "silver never ran"
        time.sleep(2)
    kubectl("delete", "pod", running[0]["status"]["driverInfo"]["podName"], "--wait=false")
    assert workflow.wait()["status"]["phase"] == "Succeeded"
    attempts = stage_nodes(workflow, "silver")
    assert len(attempts) == 2 and attempts[0]["phase"] != "Succeeded" and attempts[1]["phase"] == "Succeeded"
    assert (started(attempts[1]) - finished(attempts[0])).total_seconds() >= 2  # the first backoff: 2 s
    assert gold_counts(lake, LOST_DRIVER_DATE) == snapshot_counts(snapshot)


def test_the_daily_cron_runs_today_and_a_stopped_workflow_leaves_no_spark_application_running(
    cluster,
) -> None:
    listed = argo("cron", "list").stdout
    assert "breweries-daily" in listed and "0 6 * * *" in listed
    workflow = submit("--from", "cronwf/breweries-daily")
    today = datetime.now(timezone.utc).date().isoformat()
    parameters = {p["name"]: p.get("value") for p in workflow.get()["spec"]["arguments"]["parameters"]}
    deadline = time.monotonic() + 900
    while not any(state(a) == "RUNNING" for a in workflow.spark_applications()):
        assert time.monotonic() < deadline and workflow.phase not in ("Failed", "Error", "Succeeded")
        time.sleep(2)
    run_date = next(a["metadata"]["labels"]["breweries/run-date"] for a in workflow.spark_applications())
    assert run_date == today, parameters
    argo("stop", workflow.name)
    workflow.wait()
    time.sleep(5)
    assert [
        a["metadata"]["name"]
        for a in workflow.spark_applications()
        if state(a) not in ("COMPLETED", "FAILED")
    ] == []
