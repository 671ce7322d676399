"""The chart's Spark History Server and the event logs it reads: every Spark driver writes its log
to the one bucket, named by stage, run date and workflow; the server runs from the base image with
a key that may only read them."""

from __future__ import annotations

import pytest
import yaml
from tests.chart.manifests import (
    CHART,
    by_kind,
    env_values,
    helm,
    named,
    render,
    spark_applications,
)

from breweries.access import identity_names

BUCKET = yaml.safe_load((CHART / "values.yaml").read_text())["storage"]["buckets"]["spark_events"]


def container_env(deployment: dict) -> dict[str, dict]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in container["env"]}


def test_the_history_server_is_off_by_default_and_every_driver_still_writes_its_event_log(
    default_manifests,
) -> None:
    assert not [m for m in default_manifests if "history-server" in m["metadata"]["name"]]
    workflows = by_kind(default_manifests, "WorkflowTemplate") + by_kind(default_manifests, "CronWorkflow")
    applications = [a for w in workflows for a in spark_applications(w).values()]
    assert len(applications) == 6  # the five stages and the weekly maintenance
    for application in applications:
        env = env_values(application)
        assert env["BREWERIES_SPARK_EVENT_LOG_URI"] == f"s3a://{BUCKET}"
        # Its Spark application's name ends with the workflow's (breweries.runner.application_name).
        assert env["BREWERIES_WORKFLOW_NAME"] == "{{workflow.name}}"


def test_the_history_server_runs_the_base_image_on_the_stages_bucket_with_its_read_only_key(
    all_on_manifests,
) -> None:
    deployment = named(all_on_manifests, "Deployment", "brew-ci-history-server")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["image"] == "registry.example.com/data/breweries-base:0.1.0-rc1"
    assert container["command"][:2] == ["breweries", "history-server"]
    env = container_env(deployment)
    stage = spark_applications(named(all_on_manifests, "WorkflowTemplate", "brew-ci"))["gold"]
    # The place and the object store exactly as the stages have them.
    for name in ("BREWERIES_SPARK_EVENT_LOG_URI", "BREWERIES_S3_ENDPOINT", "BREWERIES_S3_REGION"):
        assert env[name]["value"] == env_values(stage)[name], name
    assert env["BREWERIES_SPARK_EVENT_LOG_URI"]["value"] == f"s3a://{BUCKET}"
    # Its own identity's key, which breweries.access lets read the logs and nothing else.
    assert "history-server" in identity_names()
    assert env["BREWERIES_S3_IDENTITY"]["value"] == "history-server"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"] == "breweries-s3-history-server"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["runAsNonRoot"] is True
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"example.com/image-id": "0123456789ab"}
    service = named(all_on_manifests, "Service", "brew-ci-history-server")
    assert service["spec"]["ports"] == [{"name": "http", "port": 18080, "targetPort": "http"}]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_the_minio_set_up_makes_the_event_log_bucket_and_the_history_servers_user(all_on_manifests) -> None:
    job = named(all_on_manifests, "Job", "brew-ci-minio-buckets")
    (setup,) = job["spec"]["template"]["spec"]["containers"]
    assert BUCKET in {e["name"]: e.get("value") for e in setup["env"]}["BUCKETS"].split()
    sources = job["spec"]["template"]["spec"]["volumes"][-1]["projected"]["sources"]
    assert "breweries-s3-history-server" in {s["secret"]["name"] for s in sources}


def test_without_an_event_log_bucket_no_driver_writes_one_and_the_history_server_is_refused() -> None:
    manifests = render("--set", "storage.buckets.spark_events=")
    for application in spark_applications(by_kind(manifests, "WorkflowTemplate")[0]).values():
        assert "BREWERIES_SPARK_EVENT_LOG_URI" not in env_values(application)
    refused = helm(
        "template", "breweries", str(CHART), "--set", "storage.buckets.spark_events=",
        "--set", "historyServer.enabled=true",
    )  # fmt: skip
    assert refused.returncode != 0 and "storage.buckets.spark_events" in refused.stderr


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("historyServer.updateInterval=soon", "/historyServer/updateInterval"),
        ("historyServer.heap=lots", "/historyServer/heap"),
    ],
)
def test_the_schema_refuses_a_malformed_history_server_value(value: str, path: str) -> None:
    refused = helm("template", "breweries", str(CHART), "--set", value)
    assert refused.returncode != 0 and path in refused.stderr
