"""The chart and the Makefile cannot import the stage registry: these tests hold them to it.

Add a stage to breweries.pipeline.STAGES, the chart or the Makefile alone and one of these fails.
"""

from __future__ import annotations

import re

import yaml
from tests.chart.manifests import CHART, REPO, env_values, one, spark_applications

from breweries.pipeline import ENTRY_POINT, STAGES


def test_the_workflow_starts_each_registry_stage_after_the_stages_it_reads(default_manifests) -> None:
    template = one(default_manifests, "WorkflowTemplate")
    pipeline = next(t for t in template["spec"]["templates"] if t["name"] == "pipeline")
    tasks = pipeline["dag"]["tasks"]
    assert [task["template"] for task in tasks] == [stage.component for stage in STAGES]
    for task, stage in zip(tasks, STAGES, strict=True):
        upstream = [stage_.component for stage_ in STAGES if stage_.name in stage.upstream]
        # "a && b": each of them Succeeded (Argo's depends); none for the first stage.
        assert task.get("depends", "").split(" && ") == (upstream or [""]), stage.name


def test_each_stage_runs_its_own_image_with_the_registrys_entry_point(default_manifests) -> None:
    apps = spark_applications(one(default_manifests, "WorkflowTemplate"))
    assert list(apps) == [stage.component for stage in STAGES]
    for stage in STAGES:
        spec = apps[stage.component]["spec"]
        assert spec["image"] == f"{stage.image}:0.1.0"
        assert spec["mainApplicationFile"] == f"local://{ENTRY_POINT}"
        assert env_values(apps[stage.component])["BREWERIES_STAGE"] == stage.name
        assert spec["arguments"] == [
            "--date={{inputs.parameters.run-date}}",
            "--force={{inputs.parameters.force}}",
        ]


def test_the_values_size_exactly_the_registrys_stages() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert list(values["stages"]) == [stage.name for stage in STAGES]


def test_the_stage_image_puts_the_entry_point_where_the_spark_applications_look() -> None:
    dockerfile = (REPO / "images" / "stage" / "Dockerfile").read_text()
    assert f"COPY --chown=185:185 images/stage/run_stage.py {ENTRY_POINT}" in dockerfile
    assert "ENV BREWERIES_STAGE=${STAGE}" in dockerfile


def test_the_makefile_builds_an_image_for_exactly_the_registrys_stages_in_order() -> None:
    makefile = (REPO / "Makefile").read_text()
    listed = re.search(r"^STAGES\s*:=\s*(.+)$", makefile, re.MULTILINE)
    assert listed, "the Makefile must list the stages as `STAGES := ...`"
    assert listed.group(1).split() == [stage.name for stage in STAGES]
