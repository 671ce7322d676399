# shellcheck shell=bash
# The shared part of the images built from package registries alone (no image registry): a Debian
# root filesystem from `debootstrap --variant=minbase` with the packages a build names (and, when
# asked, pinned packages from the suite's updates and security archives), cached under
# .tools/NAME/ and keyed by everything that goes into it; `docker import` of it; a `docker build`
# of a small Dockerfile on top, skipped when the image's breweries.inputs label says that nothing
# it is made from changed; and a record of what was built (image ID, Debian release,
# package versions) for images/lib/record.sh to compare with the one committed beside the script.
#
# A build script sources it from the repository root and calls, in order:
#
#   source images/lib/rootfs.sh
#   rootfs_init NAME SUITE PACKAGES_FILE [KEY_PART...]
#       PACKAGES_FILE lists Debian packages for debootstrap --include, one a line, # comments.
#       KEY_PART: anything else the root filesystem depends on (e.g. a pinned version), part of
#       its cache key. Sets the ROOTFS_* variables below.
#   rootfs_build [CUSTOMIZE_FUNCTION]
#       Makes $ROOTFS_TAR when it is missing. CUSTOMIZE_FUNCTION, if given, is called with the
#       new root filesystem's path (also $ROOTFS_DIR) after debootstrap, with /proc mounted in it,
#       so it can use rootfs_chroot and rootfs_apt_install; its output goes to the caller.
#   rootfs_import
#       Imports $ROOTFS_TAR as $ROOTFS_IMAGE unless Docker already has that image.
#   image_build TAG DOCKERFILE CONTEXT_FUNCTION INPUT_FILE... [-- DOCKER_BUILD_OPTION...]
#       Builds TAG FROM the build argument ROOTFS_IMAGE unless TAG's label breweries.inputs is the
#       hash of DOCKERFILE, the INPUT_FILEs, the options and the root filesystem image's ID.
#       CONTEXT_FUNCTION writes the build context (a tar) on stdout; `-` sends DOCKERFILE and the
#       INPUT_FILEs (paths from the repository root). The log is $ROOTFS_CACHE/build.log.
#   image_record BUILD_TXT TAG [LINE...]
#       Writes BUILD_TXT: TAG, its image ID, the root filesystem image, the architecture, the
#       suite, the LINEs, then the Debian release and every package version installed.
#
# Settings, read by rootfs_init when set before it:
#   TOOLS                  cache root (default .tools); the cache is $TOOLS/NAME
#   ROOTFS_MIRROR          Debian mirror (default http://deb.debian.org/debian)
#   ROOTFS_SECURITY_MIRROR (default http://deb.debian.org/debian-security)
#   ROOTFS_UPDATES         1: apt gets SUITE, SUITE-updates and SUITE-security and the root
#                          filesystem is upgraded from them before CUSTOMIZE_FUNCTION runs (for
#                          anything long-running; Debian ships its security fixes there). Default 0.
#   ROOTFS_IMAGE_REPO      name of the imported image (default localhost/breweries/NAME-rootfs);
#                          its tag is SUITE-KEY
#   ROOTFS_PREFIX          prefix of the messages on stderr (default NAME-image)
# Set by rootfs_init: ROOTFS_NAME ROOTFS_SUITE ROOTFS_ARCH ROOTFS_PACKAGES (comma-separated)
#   ROOTFS_KEY ROOTFS_CACHE ROOTFS_TAR ROOTFS_IMAGE ROOTFS_RECORD (the package versions file).
#
# rootfs_fail and rootfs_say print with the prefix; a build script may use them as its own.

rootfs_say() { echo "${ROOTFS_PREFIX:-image}: $*" >&2; }
rootfs_fail() {
  echo "${ROOTFS_PREFIX:-image}: $*" >&2
  exit 1
}

rootfs_init() {
  [ "$#" -ge 3 ] || rootfs_fail "usage: rootfs_init NAME SUITE PACKAGES_FILE [KEY_PART...]"
  ROOTFS_NAME="$1"
  ROOTFS_SUITE="$2"
  local packages_file="$3"
  shift 3
  [ -f "$packages_file" ] || rootfs_fail "no package list $packages_file"
  : "${ROOTFS_PREFIX:=$ROOTFS_NAME-image}"
  : "${ROOTFS_MIRROR:=http://deb.debian.org/debian}"
  : "${ROOTFS_SECURITY_MIRROR:=http://deb.debian.org/debian-security}"
  : "${ROOTFS_UPDATES:=0}"
  : "${ROOTFS_IMAGE_REPO:=localhost/breweries/$ROOTFS_NAME-rootfs}"
  ROOTFS_ARCH="$(dpkg --print-architecture 2>/dev/null || echo unknown)"
  ROOTFS_PACKAGES="$(sed 's/#.*//' "$packages_file" | xargs | tr ' ' ',')"
  # The key: suite, architecture and packages first (what images/spark-standin/build.sh hashes, so
  # its cached root filesystem stays valid), then the key parts and the updates switch.
  local updates_part=()
  [ "$ROOTFS_UPDATES" = 1 ] && updates_part=("updates+security")
  ROOTFS_KEY="$(printf '%s\n' "$ROOTFS_SUITE" "$ROOTFS_ARCH" "$ROOTFS_PACKAGES" "$@" "${updates_part[@]}" \
    | sha256sum | cut -c1-12)"
  ROOTFS_CACHE="$(realpath -m "${TOOLS:-.tools}")/$ROOTFS_NAME"
  ROOTFS_TAR="$ROOTFS_CACHE/rootfs-$ROOTFS_SUITE-$ROOTFS_ARCH-$ROOTFS_KEY.tar"
  ROOTFS_IMAGE="$ROOTFS_IMAGE_REPO:$ROOTFS_SUITE-$ROOTFS_KEY"
  ROOTFS_RECORD="$ROOTFS_CACHE/packages-$ROOTFS_KEY.txt"
  ROOTFS_DIR="$ROOTFS_CACHE/rootfs.partial"
  mkdir -p "$ROOTFS_CACHE"
}

# Runs a command inside the root filesystem being built (only from a CUSTOMIZE_FUNCTION).
rootfs_chroot() {
  DEBIAN_FRONTEND=noninteractive chroot "$ROOTFS_DIR" "$@"
}

# apt-get install of exact versions (PACKAGE=VERSION ...) inside the root filesystem being built,
# from the suite (and its updates and security archives with ROOTFS_UPDATES=1). Services are not
# started. Logs to $ROOTFS_CACHE/apt-chroot.log.
rootfs_apt_install() {
  rootfs_chroot apt-get install -y --no-install-recommends "$@" >>"$ROOTFS_CACHE/apt-chroot.log" 2>&1 \
    || rootfs_fail "apt-get could not install $*: pin the version \`apt-cache policy PACKAGE\` offers for $ROOTFS_SUITE (log: $ROOTFS_CACHE/apt-chroot.log)"
}

# The steps inside the fresh root filesystem; run in a subshell so that /proc is unmounted whatever
# happens.
_rootfs_inside() {
  local customize="$1"
  printf '#!/bin/sh\nexit 101\n' >"$ROOTFS_DIR/usr/sbin/policy-rc.d"
  chmod 755 "$ROOTFS_DIR/usr/sbin/policy-rc.d"
  : >"$ROOTFS_CACHE/apt-chroot.log"
  if [ "$ROOTFS_UPDATES" = 1 ]; then
    cat >"$ROOTFS_DIR/etc/apt/sources.list" <<SOURCES
deb $ROOTFS_MIRROR $ROOTFS_SUITE main
deb $ROOTFS_MIRROR $ROOTFS_SUITE-updates main
deb $ROOTFS_SECURITY_MIRROR $ROOTFS_SUITE-security main
SOURCES
    { rootfs_chroot apt-get update && rootfs_chroot apt-get upgrade -y; } >>"$ROOTFS_CACHE/apt-chroot.log" 2>&1 \
      || rootfs_fail "apt-get could not update $ROOTFS_SUITE from its updates and security archives (log: $ROOTFS_CACHE/apt-chroot.log)"
  fi
  if [ -n "$customize" ]; then
    "$customize" "$ROOTFS_DIR"
  fi
  # What was installed, recorded before apt's lists are dropped: Debian keeps only the newest
  # version of a package in each suite, so these versions are the pin that can be checked later.
  local release
  release="$(find "$ROOTFS_DIR/var/lib/apt/lists" -name "*_dists_${ROOTFS_SUITE}_*Release" | head -1)"
  [ -n "$release" ] || rootfs_fail "no Release file of $ROOTFS_SUITE in $ROOTFS_DIR/var/lib/apt/lists"
  {
    sed -n 's/^Version: /debian-release: /p; s/^Date: /debian-release-date: /p' "$release"
    chroot "$ROOTFS_DIR" dpkg-query -W -f "\${Package} \${Version}\n" | sed 's/^/package: /'
  } >"$ROOTFS_RECORD"
  rm -f "$ROOTFS_DIR/usr/sbin/policy-rc.d"
}

rootfs_build() {
  local customize="${1:-}"
  [ -s "$ROOTFS_TAR" ] && [ -s "$ROOTFS_RECORD" ] && return 0
  [ "$(id -u)" -eq 0 ] || rootfs_fail "debootstrap and chroot need root; run it as root"
  if ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || rootfs_fail "debootstrap is not installed; install it (Debian: apt-get install debootstrap)"
    rootfs_say "installing Debian's debootstrap"
    { apt-get update && apt-get install -y --no-install-recommends debootstrap; } >"$ROOTFS_CACHE/apt.log" 2>&1 \
      || rootfs_fail "debootstrap is missing and apt-get could not install it: check the network to Debian's packages (log: $ROOTFS_CACHE/apt.log)"
  fi
  [ -e "/usr/share/debootstrap/scripts/$ROOTFS_SUITE" ] \
    || rootfs_fail "this debootstrap does not know $ROOTFS_SUITE; install a newer debootstrap"
  if mountpoint -q "$ROOTFS_DIR/proc" 2>/dev/null; then umount "$ROOTFS_DIR/proc"; fi
  rm -rf "$ROOTFS_DIR"
  rootfs_say "debootstrap --variant=minbase $ROOTFS_SUITE ($ROOTFS_ARCH) with $ROOTFS_PACKAGES (a few minutes, first time only)"
  nice debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" "$ROOTFS_SUITE" "$ROOTFS_DIR" "$ROOTFS_MIRROR" \
    >"$ROOTFS_CACHE/debootstrap.log" 2>&1 \
    || rootfs_fail "debootstrap could not build $ROOTFS_SUITE: check the network to Debian's packages (log: $ROOTFS_CACHE/debootstrap.log)"
  # Java's and other packages' install scripts want /proc; it is unmounted before the tar is made.
  mount -t proc proc "$ROOTFS_DIR/proc"
  local rc=0
  set +e
  (
    set -e
    _rootfs_inside "$customize"
  )
  rc=$?
  set -e
  umount "$ROOTFS_DIR/proc"
  [ "$rc" -eq 0 ] || exit "$rc"
  rm -rf "$ROOTFS_DIR"/var/lib/apt/lists/* "$ROOTFS_DIR"/var/cache/apt/* "$ROOTFS_DIR"/var/log/* \
    "$ROOTFS_DIR"/usr/share/man/* "$ROOTFS_DIR"/usr/share/info/* "$ROOTFS_DIR"/debootstrap
  find "$ROOTFS_DIR"/usr/share/doc -type f ! -name copyright -delete
  tar --numeric-owner -C "$ROOTFS_DIR" -cf "$ROOTFS_TAR.partial" .
  mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
  rm -rf "$ROOTFS_DIR"
}

rootfs_import() {
  docker image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1 && return 0
  rootfs_say "importing the root filesystem as $ROOTFS_IMAGE"
  docker import --message "debootstrap --variant=minbase $ROOTFS_SUITE: $ROOTFS_PACKAGES" "$ROOTFS_TAR" "$ROOTFS_IMAGE" \
    >/dev/null || rootfs_fail "docker import of $ROOTFS_TAR failed"
}

image_build() {
  [ "$#" -ge 3 ] || rootfs_fail "usage: image_build TAG DOCKERFILE CONTEXT_FUNCTION INPUT_FILE... [-- OPTION...]"
  local tag="$1" dockerfile="$2" context="$3"
  shift 3
  local inputs_files=("$dockerfile") options=()
  while [ "$#" -gt 0 ]; do
    if [ "$1" = -- ]; then
      shift
      options=("$@")
      break
    fi
    inputs_files+=("$1")
    shift
  done
  local rootfs_id inputs
  rootfs_id="$(docker image inspect --format '{{.Id}}' "$ROOTFS_IMAGE")" \
    || rootfs_fail "no image $ROOTFS_IMAGE: call rootfs_import first"
  inputs="$(cat "${inputs_files[@]}" <(printf '%s\n' "${options[@]}" "$rootfs_id") | sha256sum | cut -c1-64)"
  if [ "$(docker image inspect --format '{{index .Config.Labels "breweries.inputs"}}' "$tag" 2>/dev/null)" = "$inputs" ]; then
    rootfs_say "$tag is up to date"
    return 0
  fi
  rootfs_say "building $tag"
  if [ "$context" = - ]; then
    tar -c "${inputs_files[@]}"
  else
    "$context"
  fi | docker build --label "breweries.inputs=$inputs" --build-arg ROOTFS_IMAGE="$ROOTFS_IMAGE" "${options[@]}" \
    -f "$dockerfile" -t "$tag" - >"$ROOTFS_CACHE/build.log" 2>&1 \
    || {
      tail -n 20 "$ROOTFS_CACHE/build.log" >&2
      rootfs_fail "docker build of $tag failed (log: $ROOTFS_CACHE/build.log)"
    }
}

image_record() {
  [ "$#" -ge 2 ] || rootfs_fail "usage: image_record BUILD_TXT TAG [LINE...]"
  local file="$1" tag="$2"
  shift 2
  local suites="$ROOTFS_SUITE"
  [ "$ROOTFS_UPDATES" = 1 ] && suites="$ROOTFS_SUITE (+ $ROOTFS_SUITE-updates, $ROOTFS_SUITE-security)"
  {
    echo "# Written by ${0#"$PWD"/}. Commit it when it changes."
    echo "image: $tag"
    echo "image-id: $(docker image inspect --format '{{.Id}}' "$tag")"
    echo "rootfs-image: $ROOTFS_IMAGE"
    echo "architecture: $ROOTFS_ARCH"
    echo "suite: $suites"
    [ "$#" -eq 0 ] || printf '%s\n' "$@"
    cat "$ROOTFS_RECORD"
  } >"$file"
}
