"""The SparkApplications get the same S3A settings as local Spark: one definition, breweries.s3a."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyspark
import pytest
from tests.chart.manifests import CHART, driver_env, one, render, spark_applications

import breweries
from breweries import s3a
from breweries.connector import spark_jars
from breweries.settings import Settings


@pytest.mark.parametrize(
    ("values", "endpoint", "region", "path_style"),
    [
        ((), None, "us-east-1", True),
        (("--set", "minio.enabled=true"), "http://breweries-minio:9000", "us-east-1", True),
        (
            ("--set", "storage.endpoint=https://s3.eu-west-1.amazonaws.com",
             "--set", "storage.region=eu-west-1", "--set", "storage.pathStyleAccess=false"),
            "https://s3.eu-west-1.amazonaws.com", "eu-west-1", False,
        ),
    ],
    ids=["aws-defaults", "chart-minio", "aws-region-virtual-hosted"],
)  # fmt: skip
def test_every_stage_gets_the_s3a_settings_local_spark_uses(values, endpoint, region, path_style) -> None:
    expected_hadoop = s3a.hadoop_conf(
        endpoint=endpoint, region=region, path_style=path_style, committer=s3a.DEFAULT_COMMITTER
    )
    for name, app in spark_applications(one(render(*values), "WorkflowTemplate")).items():
        spec = app["spec"]
        assert spec["hadoopConf"] == expected_hadoop, name
        assert {key: spec["sparkConf"][key] for key in s3a.SPARK_CONF} == s3a.SPARK_CONF, name
        # The driver's own settings say the same, so what it applies from Python agrees too.
        env = driver_env(app)
        settings = Settings.from_env(env)
        assert settings.on_object_storage
        assert (
            s3a.hadoop_conf(
                endpoint=settings.s3_endpoint_url,
                region=settings.s3_region,
                path_style=settings.s3_path_style,
                committer=settings.spark_committer,
            )
            == expected_hadoop
        ), name


def test_the_charts_committers_are_the_settings_committers() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert tuple(schema["properties"]["spark"]["properties"]["committer"]["enum"]) == s3a.COMMITTERS


def test_the_committer_value_reaches_the_s3a_settings_and_every_driver() -> None:
    workflow = one(render("--set", "spark.committer=directory"), "WorkflowTemplate")
    for name, app in spark_applications(workflow).items():
        assert app["spec"]["hadoopConf"]["fs.s3a.committer.name"] == "directory", name
        env = driver_env(app)
        assert Settings.from_env(env).spark_committer == "directory", name


# What a driver does first: build its session with the project's own builder; then it says which
# committer S3A will use (the Hadoop configuration S3A reads).
_DRIVER = """
import json
from breweries.settings import Settings
from breweries.spark import build_spark_session
settings = Settings.from_env()
spark = build_spark_session(settings, "committer-probe")
committer = spark.sparkContext._jsc.hadoopConfiguration().get("fs.s3a.committer.name")
print(json.dumps({"submitted": settings.spark_submitted, "committer": committer}))
spark.stop()
"""


@pytest.mark.slow  # a spark-submit of its own: about a minute
def test_a_driver_submitted_as_the_operator_submits_it_uses_the_charts_committer(tmp_path: Path) -> None:
    # spark-submit with the application's sparkConf and hadoopConf (spark.hadoop.*), as the operator
    # runs it, and the driver's environment from its pod template; local[1] stands in for the
    # cluster, and the checkout's jars for those a stage image has in Spark's own.
    app = spark_applications(one(render("--set", "spark.committer=directory"), "WorkflowTemplate"))["silver"]
    pod_env = driver_env(app)
    log4j = Path(breweries.__file__).parent / "data" / "log4j2-local.properties"
    conf = {
        **app["spec"]["sparkConf"],
        **{f"spark.hadoop.{k}": v for k, v in app["spec"]["hadoopConf"].items()},
        "spark.driver.extraClassPath": ":".join(str(jar) for jar in spark_jars(Settings.from_env(pod_env))),
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.ui.enabled": "false",
        # A JVM that lives seconds: C1 only, and Spark's lines at error (as local runs have them).
        "spark.driver.extraJavaOptions": (
            f"-XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile={log4j} -Dbreweries.spark.log.level=error"
        ),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREWERIES_")}
    env.update(pod_env)
    env.update(
        SPARK_LOCAL_IP="127.0.0.1",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        PYTHONPATH=str(Path(breweries.__file__).parents[1]),
    )
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER)
    submit = [str(Path(pyspark.__file__).parent / "bin" / "spark-submit"), "--master", "local[1]"]
    for key, value in conf.items():
        submit += ["--conf", f"{key}={value}"]
    result = subprocess.run([*submit, str(driver)], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"submitted": True, "committer": "directory"}
