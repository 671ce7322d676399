"""The SparkApplications get the same S3A settings as local Spark: one definition, breweries.s3a."""

from __future__ import annotations

import pytest
from tests.chart.manifests import env_values, one, render, spark_applications

from breweries import s3a
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
    expected_hadoop = s3a.hadoop_conf(endpoint=endpoint, region=region, path_style=path_style)
    for name, app in spark_applications(one(render(*values), "WorkflowTemplate")).items():
        spec = app["spec"]
        assert spec["hadoopConf"] == expected_hadoop, name
        assert {key: spec["sparkConf"][key] for key in s3a.SPARK_CONF} == s3a.SPARK_CONF, name
        # The driver's own settings say the same, so what it applies from Python agrees too.
        env = {k: v for k, v in env_values(app).items() if v is not None}
        settings = Settings.from_env(env)
        assert settings.on_object_storage
        assert (
            s3a.hadoop_conf(
                endpoint=settings.s3_endpoint_url,
                region=settings.s3_region,
                path_style=settings.s3_path_style,
            )
            == expected_hadoop
        ), name
