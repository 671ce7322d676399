"""Runs inside an image under spark-submit, for tests/images/test_spark_image_contract.py.

`container_probe.py OUT` writes and reads back partitioned Parquet under OUT (with a non-ASCII
partition value), runs Python workers, loads the S3A connector's classes and reports what the
driver saw. `container_probe.py --executors` reports which executors ran a few Python tasks.
Either prints one JSON line starting with PROBE.
"""

import json
import os
import sys
from pathlib import Path

import boto3
from pyspark.sql import SparkSession

import breweries

CLASSES = (
    "org.apache.hadoop.fs.s3a.S3AFileSystem",
    "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol",
    "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter",
    "software.amazon.awssdk.services.s3.S3Client",
)
CONF = (
    "spark.master",
    "spark.submit.deployMode",
    "spark.driver.bindAddress",
    "spark.executorEnv.SPARK_DRIVER_POD_IP",
)


def loadable(spark: SparkSession, name: str) -> bool:
    try:
        spark._jvm.java.lang.Class.forName(name)
    except Exception:
        return False
    return True


def main(out: str) -> dict:
    spark = SparkSession.builder.appName("image-contract").getOrCreate()
    rows = [("Germany", "Baden-Württemberg", 1), ("Germany", "Bayern", 2), ("United States", "Texas", 3)]
    frame = spark.createDataFrame(rows, "country string, state string, n int")
    frame.write.partitionBy("country", "state").mode("overwrite").parquet(out)
    back = spark.read.parquet(out)
    result = {
        "rows": sorted((r.country, r.state, r.n) for r in back.collect()),
        "partitions": sorted(str(p.relative_to(out)) for p in Path(out).glob("*/*") if p.is_dir()),
        "squares": spark.sparkContext.parallelize([1, 2, 3, 4], 2).map(lambda x: x * x).sum(),
        "conf": {key: spark.sparkContext.getConf().get(key, None) for key in CONF},
        "classes": {name: loadable(spark, name) for name in CLASSES},
        "uid": os.getuid(),
        "cwd": os.getcwd(),
        "pid1": Path("/proc/1/cmdline").read_bytes().split(b"\0")[0].decode(),
        "packages": {"breweries": breweries.__version__, "boto3": boto3.__version__},
    }
    spark.stop()
    return result


def executors() -> dict:
    spark = SparkSession.builder.appName("image-contract-executors").getOrCreate()
    tasks = spark.sparkContext.parallelize(range(8), 4)
    seen = tasks.map(
        lambda _: (os.environ.get("SPARK_EXECUTOR_ID"), os.environ.get("SPARK_EXECUTOR_POD_NAME"))
    )
    result = {"executors": sorted(set(seen.collect()))}
    spark.stop()
    return result


if __name__ == "__main__":
    result = executors() if sys.argv[1] == "--executors" else main(sys.argv[1])
    print("PROBE " + json.dumps(result), flush=True)
