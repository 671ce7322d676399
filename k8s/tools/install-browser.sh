#!/usr/bin/env bash
# Installs the browser the Argo UI test drives (tests/e2e/test_argo_ui.py): Debian's chromium and
# chromium-driver at the version pinned in k8s/versions.env, through apt (which verifies them).
# Browsers' own downloads (Selenium Manager, Playwright) cannot work on a machine without internet;
# the test points Selenium at these two binaries. Does nothing when that version is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)
version="${CHROMIUM_DEB:?k8s/versions.env pins CHROMIUM_DEB}"
fail() { echo "install-browser: $*" >&2; exit 1; }

installed() { [ "$(dpkg-query -W -f '${Version}' "$1" 2>/dev/null)" = "$version" ]; }
installed chromium && installed chromium-driver && exit 0

[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null \
  || fail "installing chromium $version needs root and apt-get: install Debian's chromium and chromium-driver $version"
log="$(realpath -m "${TOOLS:-.tools}")/browser/apt.log"
mkdir -p "$(dirname "$log")"
# apt keeps only the newest version of a suite: when the pin is gone, apt-cache policy says what is.
if ! apt-cache show "chromium=$version" >/dev/null 2>&1; then
  apt-get update >"$log" 2>&1 || fail "apt-get update failed (log: $log)"
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  "chromium=$version" "chromium-common=$version" "chromium-driver=$version" >>"$log" 2>&1 \
  || fail "apt-get could not install chromium $version (log: $log); pin what \`apt-cache policy chromium\` offers as CHROMIUM_DEB in k8s/versions.env"
echo "install-browser: installed $(chromium --version)"
