"""The five stage images run the pipeline, one after another, as the Spark Operator would start
their drivers: the image's /opt/entrypoint.sh in `driver` mode, spark-submit of the entry point the
chart names, the environment, Spark and S3A settings the chart renders for that stage (secrets
filled in from test values), uid 185 on a read-only root filesystem with only the chart's writable
mounts, against the API replay and a real S3 server. Gold must equal an independent count.

Only the master and the tables' catalog differ from a cluster: local[2] in the driver's container
instead of executor pods (the executor side of the entrypoint is tested in
test_spark_image_contract.py and on a cluster), and a SQLite catalog in a folder every stage's
container mounts instead of the chart's PostgreSQL (which tests/e2e runs). Gold is read back through
that catalog with PyIceberg, as another engine would. Runs by `make images-test`; skips itself
without a Docker engine or the images.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml
from tests.chart.manifests import REPO, container, one, render, spark_applications
from tests.images.test_spark_image_contract import VERSION, WRITABLE, docker, require
from tests.integration.s3_runs import Buckets, published_rows
from tests.s3_server import S3Server

from breweries.access import identity_names
from breweries.api.replay import ReplayServer, ReplayState
from breweries.pipeline import ENTRY_POINT, STAGES
from breweries.stages.gold import GOLD

pytestmark = pytest.mark.slow

RUN_DATE = "2026-03-01"
SERVED = 2000
KEY = "image-test-pseudonymization-key"
# The chart's buckets, and where each stage's container finds the stand-in catalog.
BUCKETS = (
    "breweries-bronze",
    "breweries-silver",
    "breweries-silver-anonymized",
    "breweries-gold",
    "breweries-state",
)
CATALOG_MOUNT = "/var/lib/breweries-catalog"


def rendered_applications(s3: S3Server, api_url: str) -> dict:
    manifests = render(
        "--set", f"storage.endpoint={s3.endpoint}", "--set", f"pipeline.apiUrl={api_url}",
        "--set", f"image.tag={VERSION}",
    )  # fmt: skip
    return spark_applications(one(manifests, "WorkflowTemplate"))


def driver_environment(application: dict, s3: S3Server) -> dict[str, str]:
    """The driver's env as the chart renders it, each secretKeyRef filled from the test's values."""
    # Each identity's Secret holds the test server's root key pair here: what each identity's own
    # policy allows is tests/integration/test_object_store_access.py's.
    keys = {
        (f"breweries-s3-{identity}", name): value
        for identity in identity_names()
        for name, value in (("AWS_ACCESS_KEY_ID", s3.access_key), ("AWS_SECRET_ACCESS_KEY", s3.secret_key))
    }
    secrets = {
        **keys,
        ("breweries-pseudonymization", "key"): KEY,
        ("breweries-catalog", "username"): "breweries",
        ("breweries-catalog", "password"): "image-test-catalog-password",
    }
    env = {}
    for entry in container(application, "driver")["env"]:
        if "value" in entry:
            env[entry["name"]] = with_parameters(entry["value"])
        elif "secretKeyRef" in entry["valueFrom"]:
            ref = entry["valueFrom"]["secretKeyRef"]
            env[entry["name"]] = secrets[(ref["name"], ref["key"])]
        else:  # the pod's own label, which only a cluster has
            env[entry["name"]] = ""
    return env


def with_parameters(text: str) -> str:
    """``text`` with the workflow's parameters as Argo would fill them in for a run of RUN_DATE."""
    values = yaml.safe_load((REPO / "helm" / "breweries" / "values.yaml").read_text())
    parameters = {
        "run-date": RUN_DATE,
        "force": "false",
        "spark-executors-above": values["spark"]["executorsAbove"],
    }
    for name, value in parameters.items():
        text = text.replace(f"{{{{inputs.parameters.{name}}}}}", value)
    assert "{{inputs.parameters." not in text, f"a workflow parameter this test does not fill in: {text}"
    return text


def driver_command(application: dict) -> list[str]:
    spec = application["spec"]
    conf = {**spec["sparkConf"], **{f"spark.hadoop.{k}": v for k, v in spec["hadoopConf"].items()}}
    arguments = [with_parameters(a) for a in spec["arguments"]]
    assert spec["mainApplicationFile"] == f"local://{ENTRY_POINT}"
    return [
        "/opt/entrypoint.sh", "driver", "--master", "local[2]", "--conf", "spark.ui.enabled=false",
        *(arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")),
        spec["mainApplicationFile"], *arguments,
    ]  # fmt: skip


def test_the_stage_images_run_every_stage_to_a_gold_equal_to_an_independent_count(
    s3_server, snapshot, tmp_path
) -> None:
    for stage in STAGES:
        require(f"{stage.image}:{VERSION}")
    records = snapshot[:SERVED]
    s3_server.create_buckets(*BUCKETS)
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    catalog.chmod(0o777)  # the stages run as uid 185
    with ReplayServer(ReplayState(records)) as replay:
        applications = rendered_applications(s3_server, replay.url)
        for stage in STAGES:
            application = applications[stage.component]
            env = {
                **driver_environment(application, s3_server),
                "SPARK_DRIVER_BIND_ADDRESS": "127.0.0.1",
                "BREWERIES_CATALOG_URI": f"jdbc:sqlite:{CATALOG_MOUNT}/iceberg.db",
            }
            # Exactly the chart's emptyDirs are writable (exec allowed, as on an emptyDir).
            mounts = [m["mountPath"] for m in container(application, "driver")["volumeMounts"]]
            assert sorted(f"{m}:exec" for m in mounts) == sorted(WRITABLE)
            writable = [arg for mount in mounts for arg in ("--tmpfs", f"{mount}:exec")]
            result = docker(
                "run", "--rm", "--network", "host", "--user", "185", "--read-only", *writable,
                "--volume", f"{catalog}:{CATALOG_MOUNT}",
                *(arg for name, value in env.items() for arg in ("--env", f"{name}={value}")),
                application["spec"]["image"], *driver_command(application), timeout=600,
            )  # fmt: skip
            output = result.stdout + result.stderr
            assert result.returncode == 0, f"{stage.name}:\n{output[-4000:]}"
            logs = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
            finished = [e for e in logs if e["message"] == "finished"]
            assert [(e["stage"], e["run_date"]) for e in finished] == [(stage.name, RUN_DATE)]

    bronze, silver, silver_anonymized, gold_bucket, state = BUCKETS
    buckets = Buckets(bronze, silver, silver_anonymized, gold_bucket, state, catalog / "iceberg.db")
    gold = published_rows(s3_server, buckets, GOLD, RUN_DATE)
    expected = Counter((r["country"], r["state_province"], r["brewery_type"]) for r in records)
    assert {(r["country"], r["state"], r["brewery_type"]): r["brewery_count"] for r in gold} == dict(expected)
