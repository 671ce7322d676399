"""The chart lints, renders and validates: built-in kinds strictly, custom resources against the real CRDs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.chart.manifests import (
    ALL_ON_VALUES,
    CHART,
    REPO,
    Manifest,
    builtin_errors,
    by_kind,
    crd_errors,
    helm,
    named,
    one,
    render,
    spark_applications,
)

CUSTOM_KINDS = {"WorkflowTemplate", "CronWorkflow", "Workflow", "SparkApplication"}


@pytest.mark.parametrize("values", [[], ["--values", str(ALL_ON_VALUES)]], ids=["defaults", "all-on"])
def test_helm_lint_strict_passes(values: list[str]) -> None:
    result = helm("lint", "--strict", str(CHART), *values)
    assert result.returncode == 0, result.stdout + result.stderr


def test_defaults_render_the_workflow_template_cron_workflow_rbac_and_the_catalog(default_manifests) -> None:
    kinds = sorted(m["kind"] for m in default_manifests)
    assert kinds == sorted(
        ["WorkflowTemplate", "CronWorkflow", "CronWorkflow"]  # the daily run, the weekly maintenance
        + ["ServiceAccount", "Role", "RoleBinding"] * 2
        + ["StatefulSet", "Service"]  # the tables' catalog: the chart's PostgreSQL
    )


def test_all_on_adds_minio_and_the_network_policy(all_on_manifests) -> None:
    kinds = {m["kind"] for m in all_on_manifests}
    assert {"Deployment", "Service", "Job", "NetworkPolicy"} <= kinds


@pytest.mark.parametrize("fixture", ["default_manifests", "all_on_manifests"])
def test_every_built_in_object_passes_strict_kubernetes_validation(fixture: str, request) -> None:
    manifests: list[Manifest] = request.getfixturevalue(fixture)
    checked = [m for m in manifests if m["kind"] not in CUSTOM_KINDS]
    assert checked
    errors = {f"{m['kind']}/{m['metadata']['name']}": builtin_errors(m) for m in checked}
    assert {name: e for name, e in errors.items() if e} == {}


@pytest.mark.parametrize("fixture", ["default_manifests", "all_on_manifests"])
def test_workflow_template_and_cron_workflow_match_the_argo_crds(fixture: str, request) -> None:
    manifests: list[Manifest] = request.getfixturevalue(fixture)
    template = one(manifests, "WorkflowTemplate")
    assert crd_errors(template) == []
    crons = by_kind(manifests, "CronWorkflow")
    prefix = template["metadata"]["name"]
    assert sorted(c["metadata"]["name"] for c in crons) == [f"{prefix}-daily", f"{prefix}-maintenance"]
    for cron in crons:
        assert crd_errors(cron) == [], cron["metadata"]["name"]


@pytest.mark.parametrize("fixture", ["default_manifests", "all_on_manifests"])
def test_each_embedded_spark_application_matches_the_spark_operator_crd(fixture: str, request) -> None:
    manifests = request.getfixturevalue(fixture)
    apps = spark_applications(one(manifests, "WorkflowTemplate"))
    assert len(apps) == 5
    prefix = one(manifests, "WorkflowTemplate")["metadata"]["name"]
    apps |= spark_applications(named(manifests, "CronWorkflow", f"{prefix}-maintenance"))
    assert len(apps) == 6
    assert {name: crd_errors(app) for name, app in apps.items()} == {name: [] for name in apps}


@pytest.mark.parametrize("path", sorted((REPO / "argo").glob("*.yaml")), ids=lambda p: p.name)
def test_hand_submitted_workflows_match_the_argo_crd(path: Path) -> None:
    workflows = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert workflows
    for workflow in workflows:
        assert workflow["kind"] == "Workflow"
        assert crd_errors(workflow) == []


def test_the_crd_validation_rejects_a_misspelled_field(default_manifests) -> None:
    """The check above can fail: `limt` instead of `limit` is caught (hera's models would drop it)."""
    template = one(default_manifests, "WorkflowTemplate")
    stage = next(t for t in template["spec"]["templates"] if t["name"] == "silver")
    stage["retryStrategy"]["limt"] = stage["retryStrategy"].pop("limit")
    assert any("limt" in error for error in crd_errors(template))


def test_the_crd_validation_rejects_a_wrong_type_in_a_spark_application(default_manifests) -> None:
    app = spark_applications(one(default_manifests, "WorkflowTemplate"))["gold"]
    app["spec"]["executor"]["instances"] = "two"
    app["spec"]["restartPolicy"]["type"] = "Sometimes"
    errors = crd_errors(app)
    assert any("executor/instances" in e for e in errors)
    assert any("restartPolicy/type" in e for e in errors)


def test_the_built_in_validation_rejects_an_unknown_field(default_manifests) -> None:
    role = by_kind(default_manifests, "Role")[0]
    role["rules"][0]["verbz"] = ["get"]
    assert builtin_errors(role)


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("stages.silver.executor.instances=two", "/stages/silver/executor/instances"),
        ("workflow.retry.limitt=3", "limitt"),
        ("cron.concurrencyPolicy=Sometimes", "/cron/concurrencyPolicy"),
        ("storage.buckets.gold=Not_A_Bucket", "/storage/buckets/gold"),
        ("fullnameOverride=a-name-that-is-far-too-long-for-pods", "/fullnameOverride"),
    ],
)
def test_values_schema_rejects_wrong_types_and_unknown_keys(setting: str, complaint: str) -> None:
    result = helm("template", "x", str(CHART), "--set", setting)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_a_release_with_another_name_renders_names_from_it() -> None:
    manifests = render(release="nightly")
    assert one(manifests, "WorkflowTemplate")["metadata"]["name"] == "nightly-breweries"
