"""The built images keep the apache/spark contract that the Spark Operator and Spark's Kubernetes
backend rely on, checked with real containers: Spark in /opt/spark, /opt/entrypoint.sh taking
`driver ...` and `executor`, uid 185, /opt/spark/work-dir, and a read-only root filesystem.

Building is `make images`'s job, not the tests': without a Docker engine or the images, every test
here skips itself and says which.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from breweries.errors import ApiError, MissingUpstreamError
from breweries.pipeline import STAGE_NAMES

# Containers and JVMs: make test and make images-test run these, make test-fast leaves them out.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VERSION = re.search(r'^version = "(.+)"$', (REPO / "pyproject.toml").read_text(), re.MULTILINE).group(1)
BASE = f"breweries-base:{VERSION}"
STANDIN = "breweries-spark-standin:4.0.1-bookworm"
PROBE = REPO / "tests" / "images" / "container_probe.py"

# What a pod of these images needs writable when its root filesystem is read-only (the chart's
# emptyDirs): /tmp for Spark's and Python's temporary files, and exec allowed there because
# snappy-java loads its native library from java.io.tmpdir (Docker's --tmpfs is noexec unless
# told; an emptyDir is not); the working directory, where executors fetch shipped files.
# Spark's local dirs and /opt/spark/conf are volumes that Spark itself mounts on Kubernetes.
WRITABLE = ("/tmp:exec", "/opt/spark/work-dir:exec")
READ_ONLY = ["--read-only", *(arg for path in WRITABLE for arg in ("--tmpfs", path))]
# The local JVM's C1 compiler only: a shorter warm-up for these small jobs.
QUICK_JVM = ["--driver-java-options", "-XX:TieredStopAtLevel=1", "--conf", "spark.ui.enabled=false"]


def docker(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def run(image: str, *args: str, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return docker("run", "--rm", *options, image, *args)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def config(image: str) -> dict:
    return json.loads(docker("image", "inspect", image).stdout)[0]["Config"]


def require(image: str) -> str:
    if shutil.which("docker") is None:
        pytest.skip("no docker client on PATH: install Docker (Debian: apt-get install docker.io)")
    if docker("info", timeout=30).returncode != 0:
        pytest.skip("no Docker engine answers: start one with k8s/tools/docker-engine.sh")
    if docker("image", "inspect", image, timeout=30).returncode != 0:
        pytest.skip(f"{image} is not built: run make images")
    return image


@pytest.fixture(scope="module")
def base() -> str:
    return require(BASE)


@pytest.fixture(scope="module")
def driver_probe(base: str) -> dict:
    """One Spark application, started as the Spark Operator starts a driver pod, on a read-only root."""
    result = run(
        base,
        "driver", "--master", "local[2]", *QUICK_JVM, "/probe/container_probe.py", "/tmp/out",
        options=(*READ_ONLY, "-v", f"{PROBE.parent}:/probe:ro", "-e", "SPARK_DRIVER_BIND_ADDRESS=127.0.0.1"),
    )  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.startswith("PROBE ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-5000:]
    return json.loads(lines[-1].removeprefix("PROBE "))


def test_the_base_image_is_configured_as_apache_spark_is(base: str) -> None:
    image = config(base)
    assert image["User"] == "185"
    assert image["WorkingDir"] == "/opt/spark/work-dir"
    assert image["Entrypoint"] == ["/opt/entrypoint.sh"]
    assert "SPARK_HOME=/opt/spark" in image["Env"]


def test_the_base_image_runs_as_uid_185_with_a_passwd_entry(base: str) -> None:
    result = run(base, "bash", "-c", "id -u; id -g; getent passwd 185 | cut -d: -f1")
    assert result.stdout.split() == ["185", "185", "spark"], result.stderr


def test_driver_mode_is_spark_submit_in_client_mode_bound_to_the_given_address(driver_probe: dict) -> None:
    assert driver_probe["conf"] == {
        "spark.master": "local[2]",
        "spark.submit.deployMode": "client",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.executorEnv.SPARK_DRIVER_POD_IP": "127.0.0.1",
    }
    assert driver_probe["pid1"] == "/usr/bin/tini"  # signals reach the JVM, zombies are reaped
    assert driver_probe["uid"] == 185
    assert driver_probe["cwd"] == "/opt/spark/work-dir"


def test_partitioned_parquet_round_trips_on_a_read_only_root_filesystem(driver_probe: dict) -> None:
    assert driver_probe["rows"] == [
        ["Germany", "Baden-Württemberg", 1],
        ["Germany", "Bayern", 2],
        ["United States", "Texas", 3],
    ]
    # A UTF-8 folder name: the JVM's file-name charset is not ASCII.
    assert driver_probe["partitions"] == [
        "country=Germany/state=Baden-Württemberg",
        "country=Germany/state=Bayern",
        "country=United States/state=Texas",
    ]
    assert driver_probe["squares"] == 30  # Python workers ran


def test_the_s3a_connector_and_the_cloud_committers_load(driver_probe: dict) -> None:
    assert driver_probe["classes"] == {
        "org.apache.hadoop.fs.s3a.S3AFileSystem": True,
        "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol": True,
        "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter": True,
        "software.amazon.awssdk.services.s3.S3Client": True,
    }
    assert driver_probe["packages"]["breweries"] == VERSION


def test_executor_mode_starts_the_kubernetes_executor_backend_as_spark_configures_it(
    base: str, tmp_path: Path
) -> None:
    # A stand-in java that prints its arguments: the command line is what is under test here.
    java = tmp_path / "java"
    java.write_text('#!/bin/bash\nprintf "%s\\n" "$(tr "\\0" " " </proc/1/cmdline)" "$@"\n')
    java.chmod(0o755)
    env = {
        "JAVA_HOME": "/fake-jdk",
        "SPARK_CONF_DIR": "/opt/spark/conf",
        "SPARK_EXECUTOR_MEMORY": "1024m",
        "SPARK_DRIVER_URL": "spark://CoarseGrainedScheduler@10.0.0.7:7078",
        "SPARK_EXECUTOR_ID": "3",
        "SPARK_EXECUTOR_CORES": "2",
        "SPARK_APPLICATION_ID": "spark-0123456789abcdef",
        "SPARK_EXECUTOR_POD_IP": "10.0.0.9",
        "SPARK_EXECUTOR_POD_NAME": "breweries-silver-exec-3",
        "SPARK_RESOURCE_PROFILE_ID": "0",
        # Spark numbers the JVM options; 10 must come after 2, and spaces stay inside one option.
        "SPARK_JAVA_OPT_0": "-Dspark.driver.port=7078",
        "SPARK_JAVA_OPT_10": "-Dspark.app.name=breweries silver",
        "SPARK_JAVA_OPT_2": "-Dspark.executor.id=3",
    }
    options = ["-v", f"{java}:/fake-jdk/bin/java:ro"]
    for name, value in env.items():
        options += ["-e", f"{name}={value}"]
    result = run(base, "executor", options=tuple(options))
    assert result.returncode == 0, result.stderr
    pid1, *argv = result.stdout.splitlines()
    assert pid1.startswith("/usr/bin/tini -s -- /fake-jdk/bin/java")
    classpath = argv[argv.index("-cp") + 1].split(":")
    assert argv == [
        "-Dspark.driver.port=7078",
        "-Dspark.executor.id=3",
        "-Dspark.app.name=breweries silver",
        "-Xms1024m",
        "-Xmx1024m",
        "-cp",
        ":".join(classpath),
        "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend",
        "--driver-url", "spark://CoarseGrainedScheduler@10.0.0.7:7078",
        "--executor-id", "3",
        "--cores", "2",
        "--app-id", "spark-0123456789abcdef",
        "--hostname", "10.0.0.9",
        "--resourceProfileId", "0",
        "--podName", "breweries-silver-exec-3",
    ]  # fmt: skip
    # Spark's mounted configuration first, then Spark's jars (the S3A connector among them).
    assert classpath[:2] == ["/opt/spark/conf", "/opt/spark/jars/*"]
    assert "/opt/spark/work-dir" in classpath


def test_an_executor_started_by_the_entrypoint_runs_a_real_driver_s_python_tasks(base: str) -> None:
    # Spark's Kubernetes backend, minus Kubernetes: a driver pod (here a driver whose cluster
    # manager is a standalone master with no workers) and an executor pod started as Spark starts
    # it, `executor` plus SPARK_* variables, registering with the driver and running its tasks.
    master_port, driver_port, ui_port = free_port(), free_port(), free_port()
    names = {
        role: f"breweries-contract-{role}-{uuid.uuid4().hex[:8]}" for role in ("master", "driver", "executor")
    }
    host = ("--network", "host")
    try:
        master = docker(
            "run", "-d", "--name", names["master"], *host,
            "-e", "SPARK_DAEMON_JAVA_OPTS=-XX:TieredStopAtLevel=1", base,
            "/opt/spark/bin/spark-class", "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(master_port), "--webui-port", str(ui_port),
        )  # fmt: skip
        driver = docker(
            "run", "-d", "--name", names["driver"], *host, *READ_ONLY,
            "-v", f"{PROBE.parent}:/probe:ro", "-e", "SPARK_DRIVER_BIND_ADDRESS=127.0.0.1",
            base, "driver", "--master", f"spark://127.0.0.1:{master_port}", *QUICK_JVM,
            "--conf", "spark.driver.host=127.0.0.1", "--conf", f"spark.driver.port={driver_port}",
            "/probe/container_probe.py", "--executors",
        )  # fmt: skip
        assert master.returncode == 0 and driver.returncode == 0, master.stderr + driver.stderr
        wait_for_port(driver_port, 120)  # Spark creates executor pods once the driver is up
        executor_env = {
            "SPARK_DRIVER_URL": f"spark://CoarseGrainedScheduler@127.0.0.1:{driver_port}",
            "SPARK_EXECUTOR_ID": "7",
            "SPARK_EXECUTOR_CORES": "1",
            "SPARK_EXECUTOR_MEMORY": "512m",
            "SPARK_APPLICATION_ID": "spark-contract",
            "SPARK_EXECUTOR_POD_IP": "127.0.0.1",
            "SPARK_EXECUTOR_POD_NAME": "breweries-contract-exec-7",
            "SPARK_RESOURCE_PROFILE_ID": "0",
            "SPARK_JAVA_OPT_0": f"-Dspark.driver.port={driver_port}",
            "SPARK_JAVA_OPT_1": "-XX:TieredStopAtLevel=1",
        }
        env = [arg for name, value in executor_env.items() for arg in ("-e", f"{name}={value}")]
        executor = docker("run", "-d", "--name", names["executor"], *host, *READ_ONLY, *env, base, "executor")
        assert executor.returncode == 0, executor.stderr
        assert docker("wait", names["driver"], timeout=180).stdout.strip() == "0", docker(
            "logs", names["driver"]
        ).stderr
        logs = docker("logs", names["driver"]).stdout
        probe = json.loads(
            next(line for line in logs.splitlines() if line.startswith("PROBE ")).removeprefix("PROBE ")
        )
        assert probe["executors"] == [["7", "breweries-contract-exec-7"]]
        # The driver's stop tells its executors to stop: the executor exits by itself, and cleanly.
        assert docker("wait", names["executor"], timeout=60).stdout.strip() == "0"
    finally:
        docker("rm", "-f", *names.values(), timeout=60)


def test_any_other_command_runs_as_given(base: str) -> None:
    result = run(base, "breweries", "--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"breweries {VERSION}"), result.stderr


def test_the_notifier_posts_a_failed_workflow_from_the_base_image(base: str, webhook) -> None:
    # As the workflow's exit handler runs it: `command: [breweries, notify]`, read-only root.
    failures = [{"displayName": "silver(1)", "message": "stage silver failed", "templateName": "silver"}]
    notify = [
        "--entrypoint",
        "breweries",
        *READ_ONLY,
        "--network",
        "host",
        "-e",
        f"BREWERIES_WEBHOOK_URL={webhook.url}",
    ]
    for status in ("Succeeded", "Failed"):
        result = run(
            base,
            "notify", f"--status={status}", "--workflow=breweries-x7k2p", "--run-date=2026-01-01",
            f"--failures={json.dumps(json.dumps(failures))}",
            options=tuple(notify),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    (message,) = webhook.messages  # nothing for the workflow that succeeded
    assert (message["workflow"], message["stage"], message["run_date"]) == (
        "breweries-x7k2p",
        "silver",
        "2026-01-01",
    )
    assert message["workflow_status"] == "Failed"
    assert webhook.url not in result.stdout + result.stderr  # the URL is a secret


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_each_stage_image_runs_its_own_stage(stage: str) -> None:
    image = require(f"breweries-{stage.replace('_', '-')}:{VERSION}")
    assert f"BREWERIES_STAGE={stage}" in config(image)["Env"]
    assert config(image)["User"] == "185"
    # The SparkApplication's mainApplicationFile with nothing to work on (no upstream output, an API
    # that refuses): the stage that fails, and says so in a JSON log line, is the image's own.
    result = run(
        image,
        "python3", "/opt/breweries/run_stage.py", "--date=2026-01-01",
        options=(
            *READ_ONLY, "--network", "none",
            "-e", "BREWERIES_STORAGE_ROOT=/tmp/data",
            "-e", "BREWERIES_API_URL=http://127.0.0.1:9/v1",
            "-e", "BREWERIES_HTTP_MAX_ATTEMPTS=1",
            # What silver_anonymized needs, else it stops before it starts (exit 2, no stage's line).
            "-e", "BREWERIES_PSEUDONYMIZATION_KEY=image-test-key",
        ),
    )  # fmt: skip
    records = [
        json.loads(line) for line in (result.stdout + result.stderr).splitlines() if line.startswith("{")
    ]
    assert result.returncode in (ApiError.exit_code, MissingUpstreamError.exit_code), result.stderr
    assert [(r["level"], r["stage"]) for r in records][-1] == ("error", stage)


def test_the_standin_has_apache_spark_s_layout_and_contract() -> None:
    standin = require(STANDIN)
    image = config(standin)
    assert (image["User"], image["WorkingDir"], image["Entrypoint"]) == (
        "185",
        "/opt/spark/work-dir",
        ["/opt/entrypoint.sh"],
    )
    listing = run(
        standin,
        "bash", "-c",
        "ls /opt/spark/jars/spark-kubernetes_2.13-4.0.1.jar /opt/spark/python/lib/pyspark.zip "
        "/opt/spark/python/lib/py4j-0.10.9.9-src.zip /opt/spark/bin/spark-submit /usr/bin/tini /usr/bin/ps;"
        "stat -c %U /opt/spark/work-dir /opt/spark/jars",
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    # Spark's files belong to root: the image's user can write only its working directory.
    assert listing.stdout.split()[-2:] == ["spark", "root"]
