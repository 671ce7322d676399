#!/usr/bin/env bash
# Prometheus and promtool, built from Prometheus's official Go module at the release k8s/versions.env
# pins (github.com/prometheus/prometheus v0.3xx.y is Prometheus 3.xx.y), into .tools/bin. Cached in
# .tools/go/{prometheus,promtool}-VERSION: a second call only relinks.
#
#   k8s/tools/build-prometheus.sh           prometheus, promtool and the web UI (.tools/prometheus-ui-VERSION)
#   k8s/tools/build-prometheus.sh promtool  promtool alone (make promtool: the alert rules' checks)
#
# The module zip holds the UI's source but not its build; upstream builds it with pnpm into
# web/ui/static and embeds it (-tags builtinassets). Here it is built the same way, with pnpm from
# the npm registry and the module's own lockfile (patched: k8s/patches says why), and Prometheus
# serves it from its working directory's web/ui/static, as a build without builtinassets does
# (web/ui/ui.go): the image puts it there.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)
TOOLS="$(realpath -m .tools)"

modver="github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION"
# What `prometheus --version` reports, as upstream's release builds (promu) set it; the module proxy
# records no commit, so the revision is the module version.
v=github.com/prometheus/common/version
ldflags="-s -w -X $v.Version=${PROMETHEUS_VERSION#v} -X $v.Revision=$PROMETHEUS_MODULE_VERSION -X $v.Branch=HEAD"
ldflags+=" -X $v.BuildUser=breweries -X $v.BuildDate=$(go list -m -f '{{.Time.Format "20060102-15:04:05"}}' "$modver")"

build() { nice -n 10 k8s/tools/go-build.sh "$1" "$modver" "cmd/$1" -tags=netgo -ldflags="$ldflags"; }

ui() {
  local out="$TOOLS/prometheus-ui-$PROMETHEUS_MODULE_VERSION"
  [ -f "$out/ui.tar" ] && return
  command -v npm >/dev/null || { echo "build-prometheus: npm is not on PATH; Node 20 with npm builds the UI" >&2; exit 1; }
  command -v patch >/dev/null || { echo "build-prometheus: patch is not on PATH (apt-get install patch)" >&2; exit 1; }
  echo "build-prometheus: building Prometheus's web UI with pnpm (first time only, minutes; cached in ${out#"$PWD"/})" >&2
  # pnpm, at its pin, from the npm registry (npm checks its integrity): the UI's lockfile is pnpm's.
  local pnpm="$TOOLS/pnpm-$PNPM_VERSION/node_modules/.bin/pnpm" src work="$out.partial"
  [ -x "$pnpm" ] || npm install --prefix "$TOOLS/pnpm-$PNPM_VERSION" --no-audit --no-fund --silent "pnpm@$PNPM_VERSION" >&2
  src="$(go mod download -json "$modver" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))')"
  rm -rf "$work" && mkdir -p "$work"
  cp -r "$src/web/ui" "$work/ui"
  chmod -R u+w "$work/ui"
  patch -s -p1 -d "$work/ui" <k8s/patches/prometheus-ui-mantine-9.8.1.patch
  # --frozen-lockfile: every package at the version and integrity hash the (patched) lockfile names.
  # build_ui.sh calls pnpm by name.
  (cd "$work/ui" && export PATH="$(dirname "$pnpm"):$PATH" && CI=true "$pnpm" install --frozen-lockfile --reporter=append-only >&2 \
    && CI="" nice -n 10 "$pnpm" run build:mantine-ui >&2)
  # The layout Prometheus serves from its working directory (web/ui/ui.go): web/ui/static/mantine-ui.
  mkdir -p "$work/web/ui"
  mv "$work/ui/static" "$work/web/ui/static"
  tar -C "$work" --owner=0 --group=0 --mtime=@0 --sort=name -cf "$work/ui.tar" web
  rm -rf "$out" && mkdir -p "$out" && mv "$work/ui.tar" "$out/ui.tar" && rm -rf "$work"
}

case "${1:-all}" in
  promtool) build promtool ;;
  all) build prometheus; build promtool; ui ;;
  *) echo "usage: build-prometheus.sh [promtool]" >&2; exit 1 ;;
esac
