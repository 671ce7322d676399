"""The local SparkSession's JVM runs with the options build_spark_session gives it."""

from __future__ import annotations

from pyspark.sql import SparkSession


def test_the_local_jvm_uses_the_parallel_collector(spark: SparkSession) -> None:
    beans = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()
    collectors = {bean.getName() for bean in beans}
    # The parallel collector's two generations; G1, the JVM's default, names its own "G1 ...".
    assert collectors == {"PS Scavenge", "PS MarkSweep"}
