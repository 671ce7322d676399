"""The alert rules of helm/breweries/files/alerts: Prometheus's own promtool accepts them and passes
their unit tests (tests/chart/alerts), and they watch metrics the chart's WorkflowTemplate defines,
with the labels it gives them.

promtool is built from Prometheus's pinned Go module by `make promtool`; without it, the promtool
tests skip and say so.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from tests.chart.manifests import CHART, REPO, Manifest, one

RULES = sorted((CHART / "files" / "alerts").glob("*.rules.yaml"))
RULE_TESTS = sorted((REPO / "tests" / "chart" / "alerts").glob("*.test.yaml"))
PROMTOOL = REPO / ".tools" / "bin" / "promtool"
# Argo's controller exports a workflow's custom metrics under this prefix.
ARGO_PREFIX = "argo_workflows_"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.skip(
            f"{PROMTOOL.relative_to(REPO)} is not built: `make promtool` builds it from Prometheus's source"
        )
    return subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, timeout=120, check=False)


def alerts() -> list[dict]:
    return [
        rule
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def test_promtool_accepts_the_rule_files() -> None:
    assert RULES, "no rule files in helm/breweries/files/alerts"
    result = promtool("check", "rules", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_the_rules_pass_their_promtool_unit_tests() -> None:
    assert RULE_TESTS, "no promtool unit tests in tests/chart/alerts"
    result = promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_three_alerts_an_operator_needs_are_there() -> None:
    assert {rule["alert"] for rule in alerts()} == {
        "BreweriesRunFailed",
        "BreweriesDailyRunMissing",
        "BreweriesStageSlow",
    }
    for rule in alerts():
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def defined_metrics(workflow_template: Manifest) -> dict[str, set[str]]:
    """Each custom metric the WorkflowTemplate defines, at workflow or template level: its label keys."""
    specs = [workflow_template["spec"], *workflow_template["spec"]["templates"]]
    metrics: dict[str, set[str]] = {}
    for spec in specs:
        for metric in (spec.get("metrics") or {}).get("prometheus", []):
            metrics.setdefault(metric["name"], set()).update(
                label["key"] for label in metric.get("labels", [])
            )
    return metrics


def test_the_rules_watch_metrics_the_workflow_template_defines(default_manifests) -> None:
    defined = defined_metrics(one(default_manifests, "WorkflowTemplate"))
    for rule in alerts():
        expr = rule["expr"]
        names = set(re.findall(rf"\b{ARGO_PREFIX}(\w+)", expr))
        assert names, f"{rule['alert']} watches no metric of the workflow"
        for name in names:
            assert name in defined, (
                f"{rule['alert']} watches {name}, which the WorkflowTemplate does not define"
            )
        # Every label a selector or a `by` names is one the metric carries.
        used = set(re.findall(r"(\w+)\s*(?:=~|!=|!~|=)\s*\"", expr))
        for group in re.findall(r"by\s*\(([^)]*)\)", expr):
            used.update(label.strip() for label in group.split(","))
        carried = set().union(*(defined[name] for name in names))
        assert used <= carried, f"{rule['alert']} uses labels {used - carried} no metric of it has"


def test_metrics_off_defines_none(default_manifests) -> None:
    from tests.chart.manifests import render

    assert defined_metrics(one(default_manifests, "WorkflowTemplate"))
    assert defined_metrics(one(render("--set", "workflow.metrics=false"), "WorkflowTemplate")) == {}


def test_the_cluster_s_prometheus_loads_the_rules_with_a_configuration_promtool_accepts(tmp_path) -> None:
    manifests = list(yaml.safe_load_all((REPO / "k8s" / "cluster" / "prometheus.yaml").read_text()))
    config = next(m for m in manifests if m["kind"] == "ConfigMap")["data"]["prometheus.yml"]
    deployment = next(m for m in manifests if m["kind"] == "Deployment")["spec"]["template"]["spec"]
    rules_mount = next(v for v in deployment["containers"][0]["volumeMounts"] if v["name"] == "rules")
    assert yaml.safe_load(config)["rule_files"] == [f"{rules_mount['mountPath']}/*.rules.yaml"]
    (tmp_path / "prometheus.yml").write_text(config)
    result = promtool("check", "config", "--syntax-only", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
