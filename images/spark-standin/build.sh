#!/usr/bin/env bash
# Builds breweries-spark-standin:4.0.1-bookworm, an image with the contract of
# apache/spark:4.0.1-scala2.13-java17-python3-ubuntu, from package registries only (no image
# registry is needed): a Debian root filesystem from debootstrap, imported into Docker, plus Spark
# from the pinned pyspark 4.0.1 source distribution. README.md beside this script says why and how.
#
# Cached: the root filesystem under .tools/spark-standin (keyed by suite, architecture and the
# package list) and its imported image; the Spark layers come from Docker's build cache.
# Each build records what it made (image ID, Debian release, package versions) in
# .tools/spark-standin/BUILD.txt and compares it with the BUILD.txt committed here (images/lib/record.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
here=images/spark-standin
tools="$(realpath -m "${TOOLS:-.tools}")"
cache="$tools/spark-standin"
suite=bookworm
tag=breweries-spark-standin:4.0.1-bookworm
pyspark="pyspark-4.0.1.tar.gz"

fail() { echo "spark-standin: $*" >&2; exit 1; }
say() { echo "spark-standin: $*" >&2; }
# shellcheck source=images/lib/record.sh
source images/lib/record.sh

arch="$(dpkg --print-architecture 2>/dev/null || echo unknown)"
packages="$(sed 's/#.*//' "$here/packages" | xargs | tr ' ' ',')"
key="$(printf '%s\n' "$suite" "$arch" "$packages" | sha256sum | cut -c1-12)"
rootfs_tar="$cache/rootfs-$suite-$arch-$key.tar"
rootfs_image="breweries-spark-standin-rootfs:$suite-$key"
mkdir -p "$cache"

# Spark itself: PyPI's pyspark 4.0.1 is a source distribution that holds a whole Spark
# (deps/bin, deps/jars, lib/pyspark.zip, ...); fetched once, checked against our pin.
if [ ! -s "$cache/$pyspark" ]; then
  say "fetching $pyspark with pip (checked against $here/pyspark.sha256)"
  pin="$(cut -d' ' -f1 "$here/pyspark.sha256")"
  python3 -m pip download --quiet --no-deps --no-binary :all: --require-hashes \
    --dest "$cache/download" -r /dev/stdin <<<"pyspark==4.0.1 --hash=sha256:$pin" \
    >"$cache/pip.log" 2>&1 || fail "pip could not fetch pyspark 4.0.1 (log: $cache/pip.log)"
  mv "$cache/download/$pyspark" "$cache/$pyspark"
  rm -rf "$cache/download" "$cache/pip.log"
fi
(cd "$cache" && sha256sum --check --strict --quiet "$root/$here/pyspark.sha256") \
  || fail "$cache/$pyspark does not match $here/pyspark.sha256; delete it and run again"

# The root filesystem: debootstrap checks every package against Debian's archive keyring.
if [ ! -s "$rootfs_tar" ]; then
  [ "$(id -u)" -eq 0 ] || fail "debootstrap needs root; run make images as root"
  if ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || fail "debootstrap is not installed; install it (Debian: apt-get install debootstrap)"
    say "installing Debian's debootstrap"
    { apt-get update && apt-get install -y --no-install-recommends debootstrap; } >"$cache/apt.log" 2>&1 \
      || fail "debootstrap is missing and apt-get could not install it: check the network to Debian's packages, or apt-get install debootstrap (log: $cache/apt.log)"
  fi
  rootfs="$cache/rootfs.partial"
  rm -rf "$rootfs"
  say "debootstrap --variant=minbase $suite ($arch) with $packages (a few minutes, first time only)"
  nice debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" >"$cache/debootstrap.log" 2>&1 \
    || fail "debootstrap could not build $suite: check the network to Debian's packages (log: $cache/debootstrap.log)"
  # What was installed, recorded before apt's lists are dropped: Debian keeps only the newest
  # point release of a suite, so these versions are the pin that can be checked later.
  release="$(find "$rootfs/var/lib/apt/lists" -name "*_dists_${suite}_*Release" | head -1)"
  [ -n "$release" ] || fail "debootstrap left no Release file of $suite in $rootfs/var/lib/apt/lists"
  {
    sed -n 's/^Version: /debian-release: /p; s/^Date: /debian-release-date: /p' "$release"
    chroot "$rootfs" dpkg-query -W -f "\${Package} \${Version}\n" | sed 's/^/package: /'
  } >"$cache/packages-$key.txt"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/debootstrap
  find "$rootfs"/usr/share/doc -type f ! -name copyright -delete
  tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$rootfs"
fi

if ! docker image inspect "$rootfs_image" >/dev/null 2>&1; then
  say "importing the root filesystem as $rootfs_image"
  docker import --message "debootstrap --variant=minbase $suite: $packages" "$rootfs_tar" "$rootfs_image" >/dev/null
fi

# The build context is exactly what the Dockerfile copies: this folder and the checked sdist. The
# image carries a hash of its inputs; when they have not changed, not even the 434 MB sdist is sent.
inputs="$(cat "$here/Dockerfile" "$here/entrypoint.sh" "$here/pyspark.sha256" \
  <(docker image inspect --format '{{.Id}}' "$rootfs_image") | sha256sum | cut -c1-64)"
if [ "$(docker image inspect --format '{{index .Config.Labels "breweries.inputs"}}' "$tag" 2>/dev/null)" = "$inputs" ]; then
  say "$tag is up to date"
else
  say "building $tag"
  tar -c -C "$cache" "$pyspark" -C "$root" "$here" \
    | docker build --label "breweries.inputs=$inputs" --build-arg ROOTFS_IMAGE="$rootfs_image" \
      -f "$here/Dockerfile" -t "$tag" - >"$cache/build.log" 2>&1 \
    || { tail -n 20 "$cache/build.log" >&2; fail "docker build of $tag failed (log: $cache/build.log)"; }
fi
id="$(docker image inspect --format '{{.Id}}' "$tag")"
{
  echo "# Written by images/spark-standin/build.sh; see README.md. Commit it when it changes."
  echo "image: $tag"
  echo "image-id: $id"
  echo "rootfs-image: $rootfs_image"
  echo "architecture: $arch"
  echo "suite: $suite"
  echo "pyspark-sdist-sha256: $(cut -d' ' -f1 "$here/pyspark.sha256")"
  cat "$cache/packages-$key.txt"
} >"$cache/BUILD.txt"
say "$tag is $id (not apache/spark)"
record_compare "$cache/BUILD.txt" "$here/BUILD.txt" say
