"""A Spark job that must run its tasks on an executor pod, not in the driver.

Estimates pi, and reports the hosts the tasks ran on: in cluster mode the one executor is its own pod,
which reached the driver through the driver's headless Service name (spark.driver.host).
"""

import random
import socket
import sys

from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("cluster-check-pi").getOrCreate()
sc = spark.sparkContext
driver = socket.gethostname()
samples = 200_000


def inside(_: int) -> int:
    x, y = random.random(), random.random()
    return 1 if x * x + y * y <= 1 else 0


count = sc.parallelize(range(samples), 4).map(inside).reduce(lambda a, b: a + b)
hosts = sorted(set(sc.parallelize(range(4), 4).map(lambda _: socket.gethostname()).collect()))
print(f"cluster-check: pi is roughly {4.0 * count / samples:.3f}", flush=True)
print(f"cluster-check: driver host {driver} at {sc.getConf().get('spark.driver.host')}", flush=True)
print(f"cluster-check: tasks ran on {hosts}", flush=True)
spark.stop()
if driver in hosts or not hosts:
    sys.exit("cluster-check: the tasks did not run on an executor pod")
