#!/usr/bin/env bash
# Builds localhost/breweries/trino:<TRINO_VERSION>-trixie, the official Trino server for querying the
# pipeline's Iceberg tables, from package registries only (no image registry): the server tarball
# io.trino:trino-server:<TRINO_VERSION> from Maven Central, checked against trino-server.sha256
# beside this script at every build, on a Debian trixie root filesystem from debootstrap with
# Debian's openjdk-25-jre-headless at OPENJDK25_DEB (both pins in k8s/versions.env). The shared
# steps (root filesystem, import, cached docker build, BUILD.txt) are images/lib/rootfs.sh.
#
#   images/trino/build.sh          build (cached; prints the image's name on stdout)
#   images/trino/build.sh --pin    after a change of TRINO_VERSION: download the tarball, check it
#                                  against the SHA-1 Maven Central publishes beside it, and record
#                                  its SHA-256 in trino-server.sha256
#
# Cached under .tools/trino: the tarball, the root filesystem (keyed by suite, architecture,
# package list and the JDK pin) and its imported image, and the record of the build (BUILD.txt),
# compared with the one committed here.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=images/trino
# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)
version="${TRINO_VERSION:?k8s/versions.env pins TRINO_VERSION}"
jdk="${OPENJDK25_DEB:?k8s/versions.env pins OPENJDK25_DEB}"
suite=trixie
tag="localhost/breweries/trino:$version-$suite"
tarball="trino-server-$version.tar.gz"
url="${MAVEN_CENTRAL_URL:-https://repo1.maven.org/maven2}/io/trino/trino-server/$version/$tarball"

ROOTFS_UPDATES=1
# shellcheck source=images/lib/rootfs.sh
source images/lib/rootfs.sh
# shellcheck source=images/lib/record.sh
source images/lib/record.sh
rootfs_init trino "$suite" "$here/packages" "openjdk-25-jre-headless=$jdk"
say() { rootfs_say "$@"; }
fail() { rootfs_fail "$@"; }

# The tarball: fetched once, checked against the SHA-1 Maven Central publishes beside it.
fetch_tarball() {
  [ -s "$ROOTFS_CACHE/$tarball" ] && return 0
  command -v curl >/dev/null || fail "curl is needed to fetch $url"
  say "fetching $url (821 MB for 476)"
  local sha1
  sha1="$(curl -fsSL --retry 3 "$url.sha1" | cut -c1-40)" || fail "could not fetch $url.sha1"
  nice curl -fsSL --retry 3 -o "$ROOTFS_CACHE/$tarball.partial" "$url" || fail "could not fetch $url"
  echo "$sha1  $ROOTFS_CACHE/$tarball.partial" | sha1sum --check --strict --quiet \
    || fail "$url does not match the SHA-1 Maven Central publishes ($sha1)"
  mv "$ROOTFS_CACHE/$tarball.partial" "$ROOTFS_CACHE/$tarball"
}

if [ "${1:-}" = --pin ]; then
  fetch_tarball
  line="$(cd "$ROOTFS_CACHE" && sha256sum "$tarball")"
  { grep -v "  $tarball\$" "$here/trino-server.sha256" 2>/dev/null || true; echo "$line"; } >"$here/trino-server.sha256.new"
  mv "$here/trino-server.sha256.new" "$here/trino-server.sha256"
  say "pinned $line in $here/trino-server.sha256"
  exit 0
fi

pin="$(grep -E "^[0-9a-f]{64}  ${tarball//./\\.}\$" "$here/trino-server.sha256" || true)"
[ -n "$pin" ] || fail "$here/trino-server.sha256 pins no $tarball: run $here/build.sh --pin and commit it"
fetch_tarball
(cd "$ROOTFS_CACHE" && sha256sum --check --strict --quiet <<<"$pin") \
  || fail "$ROOTFS_CACHE/$tarball does not match $here/trino-server.sha256; delete it and run again"

# Debian's OpenJDK 25 from trixie (its security updates included), at the pinned version.
install_jdk() {
  rootfs_apt_install "openjdk-25-jre-headless=$jdk"
}
rootfs_build install_jdk
rootfs_import

# The context: this folder and the checked tarball. Unchanged inputs send nothing (not 821 MB).
trino_context() {
  tar -c -C "$ROOTFS_CACHE" "$tarball" -C "$PWD" "$here"
}
mapfile -t etc_files < <(find "$here/etc" -type f | LC_ALL=C sort)
image_build "$tag" "$here/Dockerfile" trino_context \
  "$here/trino-server.sha256" "$here/plugins" "$here/run-trino" "${etc_files[@]}" \
  -- --build-arg "TRINO_VERSION=$version"
image_record "$ROOTFS_CACHE/BUILD.txt" "$tag" \
  "trino-server: $tarball ($url)" \
  "trino-server-sha256: ${pin%% *}" \
  "plugins: $(sed 's/#.*//' "$here/plugins" | xargs)"
say "$tag is $(docker image inspect --format '{{.Id}}' "$tag")"
record_compare "$ROOTFS_CACHE/BUILD.txt" "$here/BUILD.txt" say
echo "$tag"
