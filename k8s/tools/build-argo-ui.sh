#!/usr/bin/env bash
# Builds the argo program with Argo's web UI embedded, for argo-server's image: the module zip holds
# the UI's source (ui/) but not its build (ui/dist/app, made with yarn and webpack), so the plain
# `argo` of go-build.sh serves the API only. Links the result as .tools/bin/argo-server.
#
#   k8s/tools/build-argo-ui.sh [go build flags...]     (build-cluster.sh passes Argo's ldflags)
#
# ui/package.json takes argo-ui, Argo's component library, from a GitHub commit, which this machine
# cannot reach: that commit's packed files (what yarn installs from it: src, v2, package.json) are
# vendored as k8s/vendor/argo-ui-<commit>.tar.gz, checked against k8s/vendor/argo-ui.sha256, and
# installed from there. Every other package comes from the npm registry at the version ui/yarn.lock
# pins, with the integrity hash it records (the module's .yarnrc keeps --frozen-lockfile on).
# The result is cached as .tools/go/argo-ui-VERSION-KEY/argo, KEY a hash of this script, the
# vendored files, the versions and the flags: the first build takes about 10 minutes, later ones none.
set -euo pipefail
self="$(realpath "$0")"
cd "$(dirname "$0")/../.."
# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)
die() { echo "build-argo-ui: $*" >&2; exit 1; }

modver="github.com/argoproj/argo-workflows/v3@$ARGO_WORKFLOWS_VERSION"
tools="$(realpath -m .tools)"
key="$( { cat "$self" k8s/vendor/argo-ui.sha256; echo "$ARGO_WORKFLOWS_VERSION $YARN_VERSION $*"; } | sha256sum | cut -c1-12)"
out="$tools/go/argo-ui-$ARGO_WORKFLOWS_VERSION-$key/argo"

# Points ui/package.json and ui/yarn.lock at the vendored directory ui/argo-ui instead of the commit
# (a directory's lock entry has no `resolved`), leaving every other entry as upstream locked it.
use_vendored_argo_ui() { # UI_DIR GIT_DEPENDENCY
  python3 - "$@" <<'PY'
import json, pathlib, sys
ui, git_dep = pathlib.Path(sys.argv[1]), sys.argv[2]
package = json.loads((ui / "package.json").read_text())
package["dependencies"]["argo-ui"] = "file:./argo-ui"
(ui / "package.json").write_text(json.dumps(package, indent=4) + "\n")
lock = (ui / "yarn.lock").read_text()
header, resolved = f'"argo-ui@{git_dep}":\n', f'  resolved "{git_dep}"\n'
if lock.count(header) != 1 or lock.count(resolved) != 1:
    sys.exit(f"build-argo-ui: ui/yarn.lock has no single entry for {git_dep}")
(ui / "yarn.lock").write_text(lock.replace(header, '"argo-ui@file:./argo-ui":\n').replace(resolved, ""))
PY
}

if [ ! -x "$out" ]; then
  for tool in go npx; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH: Argo's UI needs Go and Node 20+ (npm) to build"
  done
  echo "build-argo-ui: building Argo's UI and argo $ARGO_WORKFLOWS_VERSION with it (first time only; cached in ${out#"$PWD"/})" >&2
  module="$(GOFLAGS=-mod=mod go mod download -json "$modver" \
    | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))')" \
    || die "the Go module proxy did not give $modver (see the error above)"
  commit="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["dependencies"]["argo-ui"].split("#")[1])' \
    "$module/ui/package.json")"
  tarball="argo-ui-$commit.tar.gz"
  grep -q " $tarball\$" k8s/vendor/argo-ui.sha256 \
    || die "Argo $ARGO_WORKFLOWS_VERSION's UI wants argo-ui at $commit: vendor it as k8s/vendor/$tarball (git archive --prefix=argo-ui/ of that commit's src v2 package.json LICENSE README.md) and add its sha256 to k8s/vendor/argo-ui.sha256"
  (cd k8s/vendor && grep " $tarball\$" argo-ui.sha256 | sha256sum --quiet -c -) || die "k8s/vendor/$tarball does not match its sha256"

  # A copy of the module to build in, apart from go-build.sh's (whose ui/dist is a placeholder).
  work="$tools/go/src/argo-ui-$ARGO_WORKFLOWS_VERSION-$key"
  rm -rf "$work" && mkdir -p "$(dirname "$work")"
  cp -r "$module" "$work" && chmod -R u+w "$work"
  tar -xzf "k8s/vendor/$tarball" -C "$work/ui"   # -> ui/argo-ui
  use_vendored_argo_ui "$work/ui" "git+https://github.com/argoproj/argo-ui.git#$commit"
  (
    cd "$work/ui"
    npx --yes "yarn@$YARN_VERSION" install --network-timeout 600000 >&2
    NODE_OPTIONS=--max-old-space-size=3072 nice -n 10 npx --yes "yarn@$YARN_VERSION" build >&2
  )
  [ -s "$work/ui/dist/app/index.html" ] || die "the UI build left no ui/dist/app/index.html"
  mkdir -p "$(dirname "$out")"
  (cd "$work" && GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
    nice -n 10 go build -trimpath -o "$out.partial" "$@" ./cmd/argo)
  mv "$out.partial" "$out"
  rm -rf "$work"   # 1 GB of node_modules: the program is what is kept
fi
mkdir -p "$tools/bin"
ln -sfn "$(realpath --relative-to="$tools/bin" "$out")" "$tools/bin/argo-server"
