#!/bin/bash
# /opt/entrypoint.sh of the Spark stand-in: what Spark's Kubernetes backend (and so the Spark
# Operator) expects of an apache/spark image's entry point.
#
#   driver ARGS...  the driver pod: spark-submit in client mode (the pod is the driver), bound
#                   to the pod IP that Spark passes as SPARK_DRIVER_BIND_ADDRESS
#   executor        an executor pod: the JVM backend, configured by the SPARK_* variables that
#                   Spark sets on the pod (driver URL, id, cores, memory, SPARK_JAVA_OPT_<n>...)
#   anything else   run as given (e.g. `breweries notify ...`, `bash`)
set -euo pipefail

: "${SPARK_HOME:=/opt/spark}"
: "${JAVA_HOME:=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"

# Hadoop asks the OS for the user's name; an arbitrary uid (OpenShift-style) has no passwd entry,
# and a read-only root filesystem cannot get one, so the name is given through the environment.
if ! getent passwd "$(id -u)" >/dev/null; then
  export HADOOP_USER_NAME="${HADOOP_USER_NAME:-${SPARK_USER_NAME:-spark}}"
fi

# The executor's classpath, in the order Spark's own images use: configuration first (so the
# spark.properties and Hadoop files Spark mounts win), then Spark's jars, then the extras.
executor_classpath() {
  local parts=()
  parts+=("${SPARK_CONF_DIR:-$SPARK_HOME/conf}")
  [ -n "${HADOOP_CONF_DIR:-}" ] && parts+=("$HADOOP_CONF_DIR")
  [ -n "${SPARK_CLASSPATH:-}" ] && parts+=("$SPARK_CLASSPATH")
  parts+=("$SPARK_HOME/jars/*")
  [ -n "${SPARK_EXTRA_CLASSPATH:-}" ] && parts+=("$SPARK_EXTRA_CLASSPATH")
  # The working directory holds files shipped with --files (SPARK-43540).
  parts+=("$PWD")
  if [ -z "${SPARK_DIST_CLASSPATH:-}" ] && [ -n "${HADOOP_HOME:-}" ]; then
    SPARK_DIST_CLASSPATH="$("$HADOOP_HOME/bin/hadoop" classpath)"
  fi
  [ -n "${SPARK_DIST_CLASSPATH:-}" ] && parts+=("$SPARK_DIST_CLASSPATH")
  local IFS=:
  echo "${parts[*]}"
}

# Spark passes the executor's JVM options as SPARK_JAVA_OPT_0, _1, ...: kept in numeric order,
# each one a single argument even when it holds spaces.
executor_java_opts=()
while read -r name; do
  executor_java_opts+=("${!name}")
done < <(compgen -e | sed -n 's/^SPARK_JAVA_OPT_\([0-9][0-9]*\)$/\1 &/p' | sort -n | cut -d' ' -f2)

# PySpark reads these from the environment of the processes it starts.
[ -n "${PYSPARK_PYTHON+set}" ] && export PYSPARK_PYTHON
[ -n "${PYSPARK_DRIVER_PYTHON+set}" ] && export PYSPARK_DRIVER_PYTHON

case "${1:-}" in
  driver)
    shift
    exec /usr/bin/tini -s -- "$SPARK_HOME/bin/spark-submit" \
      --conf "spark.driver.bindAddress=${SPARK_DRIVER_BIND_ADDRESS:?Spark sets SPARK_DRIVER_BIND_ADDRESS on the driver pod}" \
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS" \
      --deploy-mode client \
      "$@"
    ;;
  executor)
    shift
    memory="${SPARK_EXECUTOR_MEMORY:?Spark sets SPARK_EXECUTOR_MEMORY on executor pods}"
    exec /usr/bin/tini -s -- "$JAVA_HOME/bin/java" \
      "${executor_java_opts[@]}" \
      "-Xms$memory" "-Xmx$memory" \
      -cp "$(executor_classpath)" \
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "${SPARK_DRIVER_URL:?}" \
      --executor-id "${SPARK_EXECUTOR_ID:?}" \
      --cores "${SPARK_EXECUTOR_CORES:?}" \
      --app-id "${SPARK_APPLICATION_ID:?}" \
      --hostname "${SPARK_EXECUTOR_POD_IP:?}" \
      --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}" \
      --podName "${SPARK_EXECUTOR_POD_NAME:-$(hostname)}"
    ;;
  *)
    exec "$@"
    ;;
esac
