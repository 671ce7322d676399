"""The image definitions agree with the package and the chart (building them needs docker: `make images`)."""

from __future__ import annotations

import re

from tests.chart.manifests import REPO

BASE = (REPO / "images" / "base" / "Dockerfile").read_text()
STAGE = (REPO / "images" / "stage" / "Dockerfile").read_text()


def _pyproject_dependencies() -> list[str]:
    text = (REPO / "pyproject.toml").read_text()
    block = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    return re.findall(r'^\s*"([A-Za-z0-9_.-]+)', block, re.MULTILINE)


def test_the_base_image_is_a_pinned_spark_release_matching_the_pinned_pyspark() -> None:
    spark_image = re.search(r"^ARG SPARK_IMAGE=(\S+)$", BASE, re.MULTILINE).group(1)
    assert re.fullmatch(r"apache/spark:(\d+\.\d+\.\d+)-scala2\.13-java17-python3-ubuntu", spark_image)
    image_version = spark_image.split(":")[1].split("-")[0]
    assert f'"pyspark=={image_version}"' in (REPO / "pyproject.toml").read_text()


def test_the_s3a_connector_versions_match_hadoop_3_4_1() -> None:
    assert "ARG HADOOP_AWS_VERSION=3.4.1" in BASE
    assert "ARG AWS_SDK_VERSION=2.24.6" in BASE
    assert "sha1sum --check --strict" in BASE  # a corrupted or swapped jar stops the build


def test_every_runtime_dependency_is_pinned_in_the_image_requirements() -> None:
    pinned = dict(
        line.split("==")
        for line in (REPO / "images" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for dependency in _pyproject_dependencies():
        if dependency == "pyspark":
            continue  # the image's own /opt/spark/python
        assert dependency in pinned, (
            f"{dependency} is a package dependency but not in images/requirements.txt"
        )


def test_the_package_supports_the_python_the_spark_image_ships() -> None:
    # apache/spark 4.0.x python3 images are Ubuntu 22.04: Python 3.10.
    assert 'requires-python = ">=3.10"' in (REPO / "pyproject.toml").read_text()


def test_images_run_as_uid_185_not_root() -> None:
    for dockerfile in (BASE, STAGE):
        users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
        assert users[-1] == "185"
