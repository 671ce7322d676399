"""The tables' weekly upkeep in the chart: a CronWorkflow whose workflow creates one SparkApplication
that runs `breweries maintain` on the base image, as a stage's driver runs (same environment,
secrets, service account and pod template)."""

from __future__ import annotations

import ast

import pytest
from tests.chart.manifests import (
    CHART,
    REPO,
    Manifest,
    by_kind,
    container,
    env_values,
    helm,
    named,
    one,
    render,
    spark_applications,
)

from breweries.cli import build_parser
from breweries.settings import env_name

CRON = "breweries-maintenance"


def maintenance(manifests: list[Manifest]) -> tuple[Manifest, Manifest]:
    """The maintenance CronWorkflow and the one SparkApplication its workflow creates."""
    cron = named(manifests, "CronWorkflow", CRON)
    [app] = spark_applications(cron).values()
    return cron, app


def test_a_weekly_cron_workflow_runs_the_maintenance(default_manifests) -> None:
    cron, _ = maintenance(default_manifests)
    spec = cron["spec"]
    assert spec["schedules"] == ["0 3 * * 0"]  # Sundays, 03:00
    assert "schedule" not in spec  # removed in Argo 4
    assert spec["timezone"] == "UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["suspend"] is False
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (4, 4)
    workflow = spec["workflowSpec"]
    assert workflow["entrypoint"] == "maintain"
    assert workflow["activeDeadlineSeconds"] == 7200
    assert workflow["serviceAccountName"] == "breweries-workflow"
    assert workflow["securityContext"]["runAsNonRoot"] is True


def test_its_workflow_creates_one_spark_application_and_waits_for_a_final_state(default_manifests) -> None:
    cron, app = maintenance(default_manifests)
    [step] = [t for t in cron["spec"]["workflowSpec"]["templates"] if "resource" in t]
    assert step["name"] == "maintain"
    resource = step["resource"]
    assert resource["action"] == "create"
    assert resource["setOwnerReference"] is True
    assert resource["successCondition"] == "status.applicationState.state == COMPLETED"
    assert "status.applicationState.state == FAILED" in resource["failureCondition"].split(",")
    assert app["kind"] == "SparkApplication"
    assert app["metadata"]["generateName"] == "breweries-maintenance-"
    assert "name" not in app["metadata"]
    assert app["metadata"]["labels"]["workflows.argoproj.io/workflow"] == "{{workflow.name}}"
    assert app["spec"]["mode"] == "cluster"
    assert app["spec"]["restartPolicy"] == {"type": "Never"}


def test_the_application_runs_breweries_maintain_on_the_base_image(default_manifests) -> None:
    _, app = maintenance(default_manifests)
    assert app["spec"]["image"] == "breweries-base:0.1.0"
    # The package's command line, installed in the base image under /opt/breweries/package.
    main_file = app["spec"]["mainApplicationFile"]
    assert main_file == "local:///opt/breweries/package/breweries/cli.py"
    source = (REPO / "jobs" / "breweries" / "cli.py").read_text()
    assert 'if __name__ == "__main__":' in source  # runnable as a script, as spark-submit runs it
    ast.parse(source)
    assert app["spec"]["arguments"] == ["maintain"]
    assert build_parser().parse_args(app["spec"]["arguments"]).command == "maintain"


def test_its_driver_gets_the_catalog_and_storage_settings_of_the_stages_by_secret_key_ref(
    default_manifests,
) -> None:
    _, app = maintenance(default_manifests)
    env = {e["name"]: e for e in container(app, "driver")["env"]}
    assert env["BREWERIES_CATALOG_URI"]["value"] == "jdbc:postgresql://breweries-postgresql:5432/breweries"
    assert env["BREWERIES_CATALOG_USER"]["valueFrom"] == {
        "secretKeyRef": {"name": "breweries-catalog", "key": "username"}
    }
    assert env["BREWERIES_CATALOG_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "breweries-catalog", "key": "password"}
    }
    # Its own object-store identity, allowed the tables' upkeep and nothing else (breweries.access).
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"] == {
        "secretKeyRef": {"name": "breweries-s3-maintain", "key": "AWS_SECRET_ACCESS_KEY", "optional": True}
    }
    assert env["BREWERIES_S3_IDENTITY"]["value"] == "maintain"
    assert env[env_name("snapshot_retention_days")]["value"] == "7"
    # The same driver environment as a stage's, but for which stage it is, its credential, the
    # workflow's executors threshold (and no pseudonymization key).
    gold = spark_applications(one(default_manifests, "WorkflowTemplate"))["gold"]
    own = {"BREWERIES_STAGE", "BREWERIES_S3_IDENTITY", "BREWERIES_S3_CREDENTIALS_SECRET"}
    own |= {"BREWERIES_SPARK_EXECUTORS_ABOVE"}
    own |= {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    stage_env = [e for e in container(gold, "driver")["env"] if e["name"] not in own]
    assert [
        e for e in container(app, "driver")["env"] if e["name"] in {s["name"] for s in stage_env}
    ] == stage_env
    assert "BREWERIES_PSEUDONYMIZATION_KEY" not in env
    assert app["spec"]["driver"]["serviceAccount"] == "breweries-spark"
    assert app["spec"]["hadoopConf"] == gold["spec"]["hadoopConf"]
    assert app["spec"]["sparkConf"] == gold["spec"]["sparkConf"]
    for role in ("driver", "executor"):
        assert app["spec"][role]["template"]["spec"] | {"containers": None} == gold["spec"][role]["template"][
            "spec"
        ] | {"containers": None}
        assert app["spec"][role]["labels"]["app.kubernetes.io/component"] == "maintenance"
    assert env_values(app, "executor") == env_values(gold, "executor") | {
        "BREWERIES_S3_IDENTITY": "maintain",
        "BREWERIES_S3_CREDENTIALS_SECRET": "breweries-s3-maintain",
    }


def test_its_exit_handler_borrows_the_pipelines_cleanup_and_notifier(default_manifests) -> None:
    cron, _ = maintenance(default_manifests)
    workflow = cron["spec"]["workflowSpec"]
    templates = {t["name"]: t for t in workflow["templates"]}
    [group] = templates[workflow["onExit"]]["steps"]
    refs = {step["name"]: step["templateRef"] for step in group}
    assert refs == {
        "notify-failure": {"name": "breweries", "template": "notify-failure"},
        "cleanup": {"name": "breweries", "template": "cleanup"},
    }
    pipeline = {t["name"] for t in one(default_manifests, "WorkflowTemplate")["spec"]["templates"]}
    assert {ref["template"] for ref in refs.values()} <= pipeline


def test_values_set_the_schedule_retention_and_resources() -> None:
    manifests = render(
        "--set", "maintenance.schedules={0 2 * * 6,@weekly}", "--set", "maintenance.timezone=Europe/Berlin",
        "--set", "maintenance.snapshotRetentionDays=30", "--set", "maintenance.suspend=true",
        "--set", "maintenance.driver.memory=2g", "--values", str(CHART / "values-small.yaml"),
    )  # fmt: skip
    cron, app = maintenance(manifests)
    assert cron["spec"]["schedules"] == ["0 2 * * 6", "@weekly"]
    assert cron["spec"]["timezone"] == "Europe/Berlin"
    assert cron["spec"]["suspend"] is True
    assert env_values(app)[env_name("snapshot_retention_days")] == "30"
    assert app["spec"]["driver"]["memory"] == "2g"
    assert app["spec"]["driver"]["coreRequest"] == app["spec"]["executor"]["coreRequest"] == "500m"


def test_maintenance_can_be_switched_off() -> None:
    crons = by_kind(render("--set", "maintenance.enabled=false"), "CronWorkflow")
    assert [c["metadata"]["name"] for c in crons] == ["breweries-daily"]


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("maintenance.schedules=0 3 * * 0", "/maintenance/schedules"),  # a string: Argo 4 takes a list
        ("maintenance.schedules={every sunday}", "/maintenance/schedules/0"),
        ("maintenance.concurrencyPolicy=Sometimes", "/maintenance/concurrencyPolicy"),
        ("maintenance.snapshotRetentionDays=-1", "/maintenance/snapshotRetentionDays"),
        ("maintenance.activeDeadlineSeconds=10", "/maintenance/activeDeadlineSeconds"),
        ("maintenance.scheduel=x", "scheduel"),
    ],
)
def test_the_values_schema_rejects_a_bad_maintenance_setting(setting: str, complaint: str) -> None:
    result = helm("template", "x", str(CHART), "--set", setting)
    assert result.returncode != 0
    assert complaint in result.stderr
