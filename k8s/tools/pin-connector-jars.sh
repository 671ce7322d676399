#!/usr/bin/env bash
# Downloads the S3A connector jars the base image uses, checks each against Maven Central's SHA-1,
# and writes their SHA-256 to $1 (images/connector-jars.sha256), which the image build then enforces.
set -euo pipefail
out="${1:?usage: pin-connector-jars.sh images/connector-jars.sha256}"
repo="${MAVEN_REPOSITORY:-https://repo1.maven.org/maven2}"
dockerfile="$(dirname "$0")/../../images/base/Dockerfile"
arg() { sed -n "s/^ARG $1=//p" "$dockerfile"; }
paths=(
  "org/apache/hadoop/hadoop-aws/$(arg HADOOP_AWS_VERSION)/hadoop-aws-$(arg HADOOP_AWS_VERSION).jar"
  "software/amazon/awssdk/bundle/$(arg AWS_SDK_VERSION)/bundle-$(arg AWS_SDK_VERSION).jar"
  "org/apache/spark/spark-hadoop-cloud_2.13/$(arg SPARK_HADOOP_CLOUD_VERSION)/spark-hadoop-cloud_2.13-$(arg SPARK_HADOOP_CLOUD_VERSION).jar"
)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
{
  sed -n '/^#/p' "$out"
  for path in "${paths[@]}"; do
    jar="$work/${path##*/}"
    curl -fsSL -o "$jar" "$repo/$path"
    echo "$(curl -fsSL "$repo/$path.sha1" | cut -c1-40)  $jar" | sha1sum --check --quiet --strict
    echo "$(sha256sum "$jar" | cut -d' ' -f1)  ${path##*/}"
  done
} > "$work/pins"
mv "$work/pins" "$out"
cat "$out"
