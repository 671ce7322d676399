"""Creating the SparkSession: the one place that knows local mode from a submitted application."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources

from pyspark.sql import SparkSession

from breweries import s3a
from breweries.connector import spark_jars
from breweries.errors import PipelineError
from breweries.lake.catalog import SPARK_EXTENSIONS
from breweries.logs import get_logger
from breweries.settings import Settings
from breweries.storage import S3Store, is_s3, local_path

# Settings that hold wherever the job runs.
_COMMON_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # Partition values are strings (a country called "1" stays "1"); schemas are given explicitly.
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.parquet.compression.codec": "snappy",
    # Silver's one large cached frame, its parsed rows, is read a few times (the search for
    # duplicates, the counts, silver, the quarantine) just after it is built: encoding its columns
    # costs more than the memory it saves.
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
    # Bronze is read as the list of pages in its manifest; above this many paths Spark would
    # start a distributed job just to list them.
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "1024",
    # Iceberg's SQL: branches, and the procedures that publish and maintain the tables.
    "spark.sql.extensions": SPARK_EXTENSIONS,
    # A table partition's rows go to one write task, which Iceberg cuts into files at the table's
    # target size. Adaptive execution would otherwise split a large partition's rows between tasks
    # at its advisory size, leaving a small file beside each large one (18.6 and 2.9 MB at 5M).
    "spark.sql.adaptive.optimizeSkewsInRebalancePartitions.enabled": "false",
}

# JVM options. Throughput over pause times: a batch job on a few cores loses less to the parallel
# collector's pauses than to G1's write barriers and concurrent threads. And a run of seconds never
# repays the optimizing C2 compiler's warm-up: a SparkApplication's driver, which either does a
# small input's work itself or only coordinates its executors, always stops at C1 (the chart sets
# both; tests/chart checks that they are these), its executors keep C2 for large inputs.
PARALLEL_GC = "-XX:+UseParallelGC"
QUICK_JIT = "-XX:TieredStopAtLevel=1"

# Local mode on one machine: no UI, loopback only, nothing a short-lived process does not need.
_LOCAL_CONF = {
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


# How long a run gives the event log's place to answer: the log is for looking back at a run, never
# worth failing or delaying it.
EVENT_LOG_CHECK_SECONDS = 5.0


def event_log_conf(settings: Settings) -> dict[str, str]:
    """Spark's settings for writing the application's event log to BREWERIES_SPARK_EVENT_LOG_URI.

    Spark refuses to start when its event log's folder cannot be reached: this checks the place
    first and, when it cannot be reached, leaves the log off with one warning line naming it.
    """
    uri = settings.spark_event_log_uri
    if not uri:
        return {}
    problem = event_log_problem(settings, write=True)
    if problem is not None:
        log = get_logger(component="spark")
        log.warning(f"spark event log off for this run: cannot reach {uri}: {problem}")
        return {}
    return {"spark.eventLog.enabled": "true", "spark.eventLog.dir": uri}


def event_log_problem(settings: Settings, *, write: bool) -> str | None:
    """Why the event log's place cannot be used (None: it can), found within about
    EVENT_LOG_CHECK_SECONDS. A writer makes the folder when it is missing, as Spark's own writer
    does not; a reader (the History Server) only looks."""
    uri = settings.spark_event_log_uri
    try:
        if not is_s3(uri):
            folder = local_path(uri)
            try:
                if write:
                    folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                return exc.strerror or type(exc).__name__
            return None if folder.is_dir() else "no such folder"
        store = S3Store(
            settings.s3_endpoint_url,
            path_style=settings.s3_path_style,
            region=settings.s3_region,
            timeout_seconds=EVENT_LOG_CHECK_SECONDS,
        )
        # Listing fails on a missing bucket, an unknown key or an endpoint that does not answer. A
        # bucket's root is always a folder to S3A; a prefix is one once something is under it.
        if store.exists(uri) or not uri.removeprefix("s3a://").strip("/").count("/"):
            return None
        if not write:
            return "nothing is under it yet"
        store.make_folder(uri)
        return None
    except PipelineError as exc:
        return str(exc)
    except Exception as exc:  # whatever the reason, the run goes on without the log
        return f"{type(exc).__name__}: {exc}"


# Lines the JVM prints itself, outside any logging configuration, that say nothing to a user: its
# incubator-module notice, and the AWS SDK bundle's shaded SLF4J finding no binding of its own
# (the SDK's internal logging only; Spark's goes through log4j as configured).
_JVM_NOISE = ("WARNING: Using incubator modules:", "SLF4J: ")


def s3a_spark_conf(settings: Settings) -> dict[str, str]:
    """The settings' S3A configuration as Spark conf entries (``spark.hadoop.fs.s3a.*``)."""
    hadoop = s3a.hadoop_conf(
        endpoint=settings.s3_endpoint_url,
        region=settings.s3_region,
        path_style=settings.s3_path_style,
        committer=settings.spark_committer,
        web_identity=settings.s3_web_identity,
    )
    return {f"spark.hadoop.{k}": v for k, v in hadoop.items()}


def build_spark_session(settings: Settings, app_name: str, in_driver: bool = False) -> SparkSession:
    """A session for local runs, or for a submitted driver: on its executors, or ``in_driver``.

    In a driver, ``in_driver`` runs Spark's tasks in the driver's own JVM (local mode, as many
    threads as the pod's CPU limit): a small input costs less there than the executor pods it
    would wait for, whatever executors the SparkApplication declares.
    """
    builder = SparkSession.builder.appName(app_name)
    for key, value in _COMMON_CONF.items():
        builder = builder.config(key, value)
    if settings.spark_submitted and in_driver:
        builder = builder.master("local[*]")
        builder = builder.config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
    if not settings.spark_submitted:
        # Under spark-submit (a SparkApplication) the master and networking come from the submit
        # conf; overriding them here would break the driver's connection to its executors.
        builder = builder.master(settings.spark_master)
        # Read by the JVM that pyspark is about to launch: bind to loopback, not the outside address.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers must be this interpreter: `python3` on PATH may be another minor version.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        for key, value in _LOCAL_CONF.items():
            builder = builder.config(key, value)
        builder = builder.config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        builder = builder.config("spark.driver.memory", settings.spark_driver_memory)
        log4j = resources.files("breweries") / "data" / "log4j2-local.properties"
        java_options = [
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dbreweries.spark.log.level={settings.spark_log_level}",
            PARALLEL_GC,
        ]
        if settings.spark_jit == "quick":
            java_options.append(QUICK_JIT)
        builder = builder.config("spark.driver.extraJavaOptions", " ".join(java_options))
        # A stage image has these in Spark's own jars; local Spark gets them from the checkout.
        classpath = ":".join(str(jar) for jar in spark_jars(settings))
        builder = builder.config("spark.driver.extraClassPath", classpath)
    if settings.uses_s3a:
        for key, value in {**s3a_spark_conf(settings), **s3a.SPARK_CONF}.items():
            builder = builder.config(key, value)
    for key, value in event_log_conf(settings).items():
        builder = builder.config(key, value)
    if settings.spark_submitted:
        spark = builder.getOrCreate()
    else:
        with _jvm_stderr_filtered():
            spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark_log_level.upper())
    if not settings.on_object_storage:
        _without_checksum_files(spark)
    return spark


def _without_checksum_files(spark: SparkSession) -> None:
    """No .crc file beside each data, manifest and metadata file the tables write to the local disk,
    and none looked for when they are read: the files a commit writes twice over.

    Hadoop's local file system has no setting for it, and its raw form, which writes none, cannot
    serve Iceberg's reads (it does not name its scheme). The process's one cached local file system,
    which Iceberg's file IO and Spark both get, is told instead.
    """
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    local = jvm.org.apache.hadoop.fs.FileSystem.getLocal(spark.sparkContext._jsc.hadoopConfiguration())
    local.setWriteChecksum(False)
    local.setVerifyChecksum(False)


@contextmanager
def _jvm_stderr_filtered() -> Iterator[None]:
    """The JVM that pyspark launches in this block writes its stderr through a filter.

    It inherits a pipe as its stderr; a thread passes every line on to the real stderr except the
    JVM's own start-up noise, which no logging setting reaches.
    """
    read_end, write_end = os.pipe()
    real_stderr = os.dup(2)
    threading.Thread(target=_forward_lines, args=(read_end, real_stderr), daemon=True).start()
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(write_end, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(write_end)  # the JVM keeps its own copy: the pipe ends when the JVM does


def _forward_lines(read_end: int, out: int) -> None:
    with os.fdopen(read_end, "rb") as lines, os.fdopen(out, "wb", buffering=0) as sink:
        for line in lines:
            if not line.decode(errors="replace").startswith(_JVM_NOISE):
                sink.write(line)


def wait_for_an_executor(spark: SparkSession, settings: Settings) -> None:
    """A driver on executors has one within BREWERIES_SPARK_EXECUTOR_WAIT_SECONDS, or fails saying
    why: left alone, Spark would wait for pods the namespace cannot hold until the step's deadline."""
    wait = settings.spark_executor_wait_seconds
    deadline = time.monotonic() + wait
    # The driver's own block manager, and one per registered executor.
    while spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() < 2:
        if time.monotonic() >= deadline:
            conf = spark.sparkContext.getConf()
            raise PipelineError(
                f"no executor registered within {wait:g} s: SparkApplication "
                f"{settings.spark_application or spark.sparkContext.appName} asked for "
                f"{conf.get('spark.executor.instances', '1')} executor pod(s) of "
                f"{conf.get('spark.executor.cores', '1')} CPU and {conf.get('spark.executor.memory', '1g')}, "
                "which the namespace's ResourceQuota or the nodes' free capacity does not hold: see "
                "`kubectl get pods -l spark-role=executor` and `kubectl describe resourcequota`, "
                "or lower the stage's executor resources in the chart's values"
            )
        time.sleep(0.5)


class LazySparkSession:
    """A SparkSession started on first use; stopped on exit only if this object started it.

    Reuses an already active session (tests, one-process runs), so a whole local run shares one.
    """

    def __init__(
        self, settings: Settings, app_name: str, in_driver: Callable[[], bool] = lambda: False
    ) -> None:
        # Asked only when a session is started: a stage that needs none (bronze) pays nothing for it.
        self._settings, self._app_name, self._in_driver = settings, app_name, in_driver
        self._session: SparkSession | None = None
        self._owned = False

    def __call__(self) -> SparkSession:
        if self._session is None:
            active = SparkSession.getActiveSession()
            self._owned = active is None
            if active is None:
                clock = time.monotonic()
                in_driver = self._in_driver()
                active = build_spark_session(self._settings, self._app_name, in_driver)
                if self._settings.spark_submitted and not in_driver:
                    wait_for_an_executor(active, self._settings)
                # The JVM's start is a real share of a short run: say what it cost.
                get_logger(component="spark").info(
                    "spark session started",
                    extra={
                        "startup_seconds": round(time.monotonic() - clock, 3),
                        "master": active.sparkContext.master,
                    },
                )
            self._session = active
        return self._session

    def __enter__(self) -> LazySparkSession:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._session is not None and self._owned:
            self._session.stop()
        self._session = None
