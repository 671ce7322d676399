"""`breweries history-server`: Spark's History Server on the stages' event logs.

Spark's own server (``spark-class org.apache.spark.deploy.history.HistoryServer``) with the settings
the stages write their logs with: the place (BREWERIES_SPARK_EVENT_LOG_URI) and, on object storage,
the same S3A settings (:mod:`breweries.s3a`). It is checked first: a place that cannot be reached
is one warning line naming it, and the server starts anyway, listing the logs once they appear.
"""

from __future__ import annotations

import os
import shlex
from importlib import resources
from pathlib import Path

from breweries.connector import spark_jars
from breweries.errors import SettingsError
from breweries.logs import get_logger
from breweries.settings import Settings, env_name
from breweries.spark import event_log_problem, s3a_spark_conf

HISTORY_SERVER_CLASS = "org.apache.spark.deploy.history.HistoryServer"


def history_server_conf(settings: Settings, port: int, update_interval: str) -> dict[str, str]:
    """The server's Spark settings: where the logs are, how it reads them, where it listens."""
    if not settings.spark_event_log_uri:
        raise SettingsError(
            f"{env_name('spark_event_log_uri')} is not set: the History Server reads the event logs "
            "from there"
        )
    conf = {
        "spark.history.fs.logDirectory": settings.spark_event_log_uri,
        "spark.history.fs.update.interval": update_interval,
        "spark.history.ui.port": str(port),
        # Its credential may only read (breweries.access): the stages' logs are never its to delete.
        "spark.history.fs.cleaner.enabled": "false",
    }
    if settings.uses_s3a:
        conf.update(s3a_spark_conf(settings))
    return conf


def spark_home() -> Path:
    """SPARK_HOME (the images' /opt/spark), else the Spark inside the pyspark package."""
    from pyspark.find_spark_home import _find_spark_home

    return Path(os.environ.get("SPARK_HOME") or _find_spark_home())


def serve_history(settings: Settings, port: int, update_interval: str) -> None:
    """Check the logs' place, then become the History Server (this process is replaced by it)."""
    conf = history_server_conf(settings, port, update_interval)
    log = get_logger(component="history-server")
    problem = event_log_problem(settings, write=False)
    if problem is not None:
        log.warning(
            f"cannot reach the event logs at {settings.spark_event_log_uri}: {problem}; "
            "serving anyway, they are listed once they can be read"
        )
    env = dict(os.environ)
    # spark-class's launcher passes SPARK_HISTORY_OPTS to the server's JVM: system properties,
    # which the server's SparkConf reads. No secret is among them (keys come from the environment).
    log4j = resources.files("breweries") / "data" / "log4j2-history-server.properties"
    options = [f"-Dlog4j2.configurationFile={log4j}", *(f"-D{k}={v}" for k, v in conf.items())]
    env["SPARK_HISTORY_OPTS"] = " ".join(
        [env.get("SPARK_HISTORY_OPTS", ""), *(shlex.quote(o) for o in options)]
    ).strip()
    if "SPARK_HOME" not in os.environ:
        # An image's Spark (SPARK_HOME) has the S3A connector among its jars; pyspark's gets the
        # checkout's, as local runs do.
        env["SPARK_DIST_CLASSPATH"] = ":".join(str(jar) for jar in spark_jars(settings))
    home = spark_home()
    log.info("starting", extra={"event_logs": settings.spark_event_log_uri, "port": port})
    spark_class = str(home / "bin" / "spark-class")
    os.execve(spark_class, [spark_class, HISTORY_SERVER_CLASS], env)
