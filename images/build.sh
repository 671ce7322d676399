#!/usr/bin/env bash
# make images: the base image and one image per stage, built by the local Docker engine with no
# image registry and no network inside the builds.
#
#   VERSION=0.1.0 STAGES="bronze silver ..." [IMAGE_REPOSITORY=breweries] [SPARK_IMAGE=...] [PYTHON=.venv/bin/python] images/build.sh
#
# The inputs are fetched on the host through the package registries' own clients and checked
# against the pins in images/: the connector jars (Maven), the dependency wheels (pip). The Spark
# image is SPARK_IMAGE (default: apache/spark, as images/base/Dockerfile says) when it is here or
# can be pulled; otherwise images/spark-standin/build.sh builds an image with the same contract.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${VERSION:?set VERSION, e.g. VERSION=0.1.0}"
repository="${IMAGE_REPOSITORY:-breweries}"
stages="${STAGES:?set STAGES to the stages, in order (the Makefile passes its list, checked against breweries.pipeline)}"
python="${PYTHON:-.venv/bin/python}"
tools="${TOOLS:-.tools}"
default_spark_image="$(sed -n 's/^ARG SPARK_IMAGE=//p' images/base/Dockerfile)"
spark_image="${SPARK_IMAGE:-$default_spark_image}"
standin=breweries-spark-standin:4.0.1-bookworm
logs="$tools/images"
started=$SECONDS

fail() { echo "images: $*" >&2; exit 1; }

# docker build from a tar of exactly the files an image needs: a small context, sent once.
# $1: image tag, $2: Dockerfile, then build arguments, then -- and the context's paths.
build() {
  local tag="$1" dockerfile="$2" args=() log="$logs/build-${1//[:\/]/_}.log" began=$SECONDS
  shift 2
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  shift
  tar -c "$@" | docker build "${args[@]}" -f "$dockerfile" -t "$tag" - >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; fail "docker build of $tag failed (log: $log)"; }
  echo "images: built $tag in $((SECONDS - began)) s: $(docker image inspect --format '{{.Id}} {{.Size}}' "$tag" \
    | awk '{printf "%s, %.2f GB", substr($1, 1, 19), $2 / 1e9}')"
}

k8s/tools/docker-engine.sh
mkdir -p "$logs"

if [ "$spark_image" = "$standin" ]; then
  images/spark-standin/build.sh
elif docker image inspect "$spark_image" >/dev/null 2>&1 \
  || timeout 300 docker pull --quiet "$spark_image" >"$logs/pull.log" 2>&1; then
  echo "images: Spark image $spark_image"
elif [ "$spark_image" = "$default_spark_image" ]; then
  echo "images: $spark_image is not here and cannot be pulled (no image registry?): building the stand-in $standin (same contract; images/spark-standin/README.md)"
  images/spark-standin/build.sh
  spark_image="$standin"
else
  fail "SPARK_IMAGE $spark_image is not here and cannot be pulled (log: $logs/pull.log)"
fi

# The base image's inputs in dist/, hard-linked from the checked caches in .tools when possible.
k8s/tools/connector-jars.sh "$tools/jars"
images/python-wheels.sh "$tools/wheels/images"
[ -x "$python" ] || fail "$python is missing: run make setup (or set PYTHON)"
# The package's wheel, built once per state of its sources. A fixed timestamp makes it
# byte-identical for the same sources, so Docker's cache holds too.
sources="$(find pyproject.toml README.md LICENSE jobs -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' \
  | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"
package_wheels="$tools/wheels/breweries-$sources"
if ! ls "$package_wheels"/breweries-*.whl >/dev/null 2>&1; then
  rm -rf "$package_wheels"
  SOURCE_DATE_EPOCH=315532800 "$python" -m pip wheel --quiet --no-deps --wheel-dir "$package_wheels" . \
    || fail "pip could not build the breweries wheel"
fi
rm -rf dist
mkdir -p dist/jars dist/wheels
cp "$package_wheels"/breweries-*.whl dist/
sed -n 's/^[0-9a-f]\{64\}  //p' images/connector-jars.sha256 | while read -r jar; do
  ln "$tools/jars/$jar" dist/jars/ 2>/dev/null || cp "$tools/jars/$jar" dist/jars/
done
for wheel in "$tools"/wheels/images/*.whl; do
  ln "$wheel" dist/wheels/ 2>/dev/null || cp "$wheel" dist/wheels/
done

build "$repository-base:$version" images/base/Dockerfile \
  --build-arg SPARK_IMAGE="$spark_image" --build-arg VERSION="$version" \
  -- images/base/Dockerfile images/connector-jars.sha256 images/requirements.txt dist
for stage in $stages; do
  build "$repository-${stage//_/-}:$version" images/stage/Dockerfile \
    --build-arg STAGE="$stage" --build-arg BASE_IMAGE="$repository-base:$version" \
    -- images/stage
done

echo "images: done in $((SECONDS - started)) s, on $spark_image"
