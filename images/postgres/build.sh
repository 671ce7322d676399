#!/usr/bin/env bash
# Builds localhost/breweries/postgres:<POSTGRESQL_DEB>, the PostgreSQL the chart's trial catalog
# runs (catalog.postgresql) on the local cluster, from package registries only (no image registry):
# a Debian bookworm root filesystem from debootstrap with Debian's postgresql-15 at the version
# pinned in k8s/versions.env, imported into Docker, plus a small entry point with the contract of
# the official postgres image (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA; uid 999), so
# that the chart's default image, docker.io/library/postgres, and this one are interchangeable.
#
# Cached: the root filesystem under .tools/postgres (keyed by suite, architecture, package list and
# pin) and its imported image. Each build records what it made (image ID, package versions) in
# .tools/postgres/BUILD.txt and compares it with the BUILD.txt committed here. Prints the image's name.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=images/postgres
tools="$(realpath -m "${TOOLS:-.tools}")"
cache="$tools/postgres"
suite=bookworm
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security
# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)
pin="${POSTGRESQL_DEB:?k8s/versions.env pins POSTGRESQL_DEB}"
tag="localhost/breweries/postgres:${pin%%-*}-$suite"

fail() { echo "postgres-image: $*" >&2; exit 1; }
say() { echo "postgres-image: $*" >&2; }
# shellcheck source=images/lib/record.sh
source images/lib/record.sh

arch="$(dpkg --print-architecture 2>/dev/null || echo unknown)"
packages="$(sed 's/#.*//' "$here/packages" | xargs | tr ' ' ',')"
key="$(printf '%s\n' "$suite" "$arch" "$packages" "$pin" | sha256sum | cut -c1-12)"
rootfs_tar="$cache/rootfs-$suite-$arch-$key.tar"
rootfs_image="localhost/breweries/postgres-rootfs:$suite-$key"
mkdir -p "$cache"

# The root filesystem: debootstrap and apt check every package against Debian's archive keyring.
if [ ! -s "$rootfs_tar" ]; then
  [ "$(id -u)" -eq 0 ] || fail "debootstrap and chroot need root; run it as root"
  if ! command -v debootstrap >/dev/null; then
    say "installing Debian's debootstrap"
    { apt-get update && apt-get install -y --no-install-recommends debootstrap; } >"$cache/apt.log" 2>&1 \
      || fail "debootstrap is missing and apt-get could not install it (log: $cache/apt.log)"
  fi
  rootfs="$cache/rootfs.partial"
  rm -rf "$rootfs"
  say "debootstrap --variant=minbase $suite ($arch) with $packages (a few minutes, first time only)"
  nice debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || fail "debootstrap could not build $suite: check the network to Debian's packages (log: $cache/debootstrap.log)"
  # postgresql-15 from the release and its security updates. The user is the official image's
  # (uid and gid 999), made before the package would pick another; no cluster is created and no
  # service started at install time: the entry point initializes PGDATA on first start.
  cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SOURCES
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  mkdir -p "$rootfs/etc/postgresql-common"
  echo "create_main_cluster = false" >"$rootfs/etc/postgresql-common/createcluster.conf"
  chroot "$rootfs" groupadd --system --gid 999 postgres
  chroot "$rootfs" useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --no-create-home \
    --shell /bin/bash postgres
  {
    chroot "$rootfs" apt-get update \
      && DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get upgrade -y \
      && DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y --no-install-recommends \
        "postgresql-15=$pin"
  } >"$cache/apt-chroot.log" 2>&1 \
    || fail "apt-get could not install postgresql-15=$pin: pin the version \`apt-cache policy postgresql-15\` offers in k8s/versions.env (log: $cache/apt-chroot.log)"
  # What was installed, recorded before apt's lists are dropped: Debian keeps only the newest
  # version of a package in each suite, so these versions are the pin that can be checked later.
  release="$(find "$rootfs/var/lib/apt/lists" -name "*_dists_${suite}_*Release" | head -1)"
  [ -n "$release" ] || fail "no Release file of $suite in $rootfs/var/lib/apt/lists"
  {
    sed -n 's/^Version: /debian-release: /p; s/^Date: /debian-release-date: /p' "$release"
    chroot "$rootfs" dpkg-query -W -f "\${Package} \${Version}\n" | sed 's/^/package: /'
  } >"$cache/packages-$key.txt"
  rm -f "$rootfs/usr/sbin/policy-rc.d"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/debootstrap
  find "$rootfs"/usr/share/doc -type f ! -name copyright -delete
  tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$rootfs"
fi

if ! docker image inspect "$rootfs_image" >/dev/null 2>&1; then
  say "importing the root filesystem as $rootfs_image"
  docker import --message "debootstrap --variant=minbase $suite + postgresql-15 $pin" "$rootfs_tar" "$rootfs_image" >/dev/null
fi

inputs="$(cat "$here/Dockerfile" "$here/entrypoint.sh" <(docker image inspect --format '{{.Id}}' "$rootfs_image") \
  | sha256sum | cut -c1-64)"
if [ "$(docker image inspect --format '{{index .Config.Labels "breweries.inputs"}}' "$tag" 2>/dev/null)" = "$inputs" ]; then
  say "$tag is up to date"
else
  say "building $tag"
  tar -c "$here/Dockerfile" "$here/entrypoint.sh" \
    | docker build --label "breweries.inputs=$inputs" --build-arg ROOTFS_IMAGE="$rootfs_image" \
      --build-arg VERSION="$pin" -f "$here/Dockerfile" -t "$tag" - >"$cache/build.log" 2>&1 \
    || { tail -n 20 "$cache/build.log" >&2; fail "docker build of $tag failed (log: $cache/build.log)"; }
fi
id="$(docker image inspect --format '{{.Id}}' "$tag")"
{
  echo "# Written by images/postgres/build.sh. Commit it when it changes."
  echo "image: $tag"
  echo "image-id: $id"
  echo "rootfs-image: $rootfs_image"
  echo "architecture: $arch"
  echo "suite: $suite (+ $suite-updates, $suite-security)"
  cat "$cache/packages-$key.txt"
} >"$cache/BUILD.txt"
say "$tag is $id"
record_compare "$cache/BUILD.txt" "$here/BUILD.txt" say
echo "$tag"
