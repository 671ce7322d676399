"""The image definitions agree with the package and the chart (building them needs docker: `make images`;
tests/images/ checks the built images)."""

from __future__ import annotations

import re

from tests.chart.manifests import REPO

BASE = (REPO / "images" / "base" / "Dockerfile").read_text()
STAGE = (REPO / "images" / "stage" / "Dockerfile").read_text()
STANDIN = (REPO / "images" / "spark-standin" / "Dockerfile").read_text()
POSTGRES = (REPO / "images" / "postgres" / "Dockerfile").read_text()
REQUIREMENTS = (REPO / "images" / "requirements.txt").read_text()


def _pyproject_dependencies() -> list[str]:
    text = (REPO / "pyproject.toml").read_text()
    block = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    return re.findall(r'^\s*"([A-Za-z0-9_.-]+)', block, re.MULTILINE)


def test_the_base_image_is_a_pinned_spark_release_matching_the_pinned_pyspark() -> None:
    spark_image = re.search(r"^ARG SPARK_IMAGE=(\S+)$", BASE, re.MULTILINE).group(1)
    assert re.fullmatch(r"apache/spark:(\d+\.\d+\.\d+)-scala2\.13-java17-python3-ubuntu", spark_image)
    image_version = spark_image.split(":")[1].split("-")[0]
    assert f'"pyspark=={image_version}"' in (REPO / "pyproject.toml").read_text()


def test_the_connector_jars_match_hadoop_3_4_1_and_the_tables_and_are_checked_in_the_build() -> None:
    pins = (REPO / "images" / "connector-jars.sha256").read_text()
    coordinates = {c: g for g, c in re.findall(r"^# maven (\w+): (\S+)$", pins, re.MULTILINE)}
    for coordinate in (
        "org.apache.hadoop:hadoop-aws:3.4.1",
        "software.amazon.awssdk:bundle:2.24.6",
        "org.apache.spark:spark-hadoop-cloud_2.13:4.0.1",
    ):
        assert coordinates.get(coordinate) == "s3a", coordinate
    # Iceberg's runtime for Spark 4.0 and the catalog's JDBC drivers (SQLite locally, PostgreSQL in
    # a cluster) are pinned too.
    tables = {c.rsplit(":", 1)[0] for c, group in coordinates.items() if group == "tables"}
    assert tables == {
        "org.apache.iceberg:iceberg-spark-runtime-4.0_2.13",
        "org.xerial:sqlite-jdbc",
        "org.postgresql:postgresql",
    }
    jars = re.findall(r"^[0-9a-f]{64}  (\S+\.jar)$", pins, re.MULTILINE)
    assert sorted(jars) == sorted(f"{c.split(':')[1]}-{c.split(':')[2]}.jar" for c in coordinates)
    # Every pinned jar goes into Spark's jars, and a corrupted or swapped one stops the build.
    build = (REPO / "images" / "build.sh").read_text()
    assert "images/connector-jars.sha256" in build and "dist/jars/" in build
    assert "COPY dist/jars/ /opt/spark/jars/" in BASE
    assert "connector-jars.sha256" in BASE and "sha256sum --check --strict" in BASE


def test_no_image_build_downloads_anything() -> None:
    # The inputs are fetched on the host with the registries' own clients and checked there; a
    # `# syntax=` line would make BuildKit pull its frontend from an image registry.
    for dockerfile in (BASE, STAGE, STANDIN, POSTGRES):
        assert not re.search(r"wget|curl|ADD +https?:|^# *syntax=", dockerfile, re.MULTILINE)
    assert "--no-index" in BASE and "--require-hashes" in BASE


def _pinned_requirements() -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", REQUIREMENTS, re.MULTILINE))


def test_every_runtime_dependency_is_pinned_with_a_hash_in_the_image_requirements() -> None:
    pinned = _pinned_requirements()
    for dependency in _pyproject_dependencies():
        if dependency == "pyspark":
            continue  # the image's own /opt/spark/python
        assert dependency in pinned, (
            f"{dependency} is a package dependency but not in images/requirements.txt"
        )
    # Each with its wheels' hashes: one pure wheel, or a compiled package's wheel per Python and
    # architecture (images/python-wheels.sh).
    hashed = re.findall(
        r"^[A-Za-z0-9_.-]+==\S+ \\\n(?:    --hash=sha256:[0-9a-f]{64} \\\n)*    --hash=sha256:[0-9a-f]{64}\n",
        REQUIREMENTS,
        re.MULTILINE,
    )
    assert len(hashed) == len(pinned)


def test_the_spark_standin_is_made_of_the_pinned_pyspark() -> None:
    version = re.search(r'"pyspark==([^"]+)"', (REPO / "pyproject.toml").read_text()).group(1)
    pin = (REPO / "images" / "spark-standin" / "pyspark.sha256").read_text()
    assert re.fullmatch(rf"[0-9a-f]{{64}}  pyspark-{re.escape(version)}\.tar\.gz\n", pin)
    assert f"pyspark-{version}.tar.gz" in STANDIN


def test_the_package_supports_the_python_the_spark_image_ships() -> None:
    # apache/spark 4.0.x python3 images are Ubuntu 22.04: Python 3.10.
    assert 'requires-python = ">=3.10"' in (REPO / "pyproject.toml").read_text()


def test_images_run_as_uid_185_not_root() -> None:
    for dockerfile in (BASE, STAGE, STANDIN):
        users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
        assert users[-1] == "185"


def test_the_catalogs_postgresql_image_is_non_root_and_pinned() -> None:
    # The official postgres image's user; the chart runs it under a high uid of its own.
    assert re.findall(r"^USER (\S+)$", POSTGRES, re.MULTILINE)[-1] == "999:999"
    versions = (REPO / "k8s" / "versions.env").read_text()
    assert re.search(r"^POSTGRESQL_DEB=15\.\d+-\S+", versions, re.MULTILINE)
    build = (REPO / "images" / "postgres" / "build.sh").read_text()
    assert '"postgresql-15=$pin"' in build
