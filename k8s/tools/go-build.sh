#!/usr/bin/env bash
# Builds a Go program from its official module at a pinned version, through the Go module proxy
# (the Go checksum database verifies every module it downloads), and links it as .tools/bin/NAME.
#
#   k8s/tools/go-build.sh NAME MODULE@VERSION PACKAGE [go build flags...]
#
# The build is cached as .tools/go/NAME-VERSION/NAME: a second call only relinks. It is built
# inside the module's own directory, so the module's go.mod (its replace directives included)
# decides every dependency, as `go install MODULE/PACKAGE@VERSION` would when it can.
set -euo pipefail

name="${1:?usage: go-build.sh NAME MODULE@VERSION PACKAGE [go build flags...]}"
modver="${2:?usage: go-build.sh NAME MODULE@VERSION PACKAGE [go build flags...]}"
package="${3:?usage: go-build.sh NAME MODULE@VERSION PACKAGE [go build flags...]}"
shift 3
tools="$(realpath -m "${TOOLS:-.tools}")"
version="${modver#*@}"
out="$tools/go/$name-$version/$name"

if [ ! -x "$out" ]; then
  command -v go >/dev/null || {
    echo "go-build: Go is not on PATH; install Go 1.24 or newer to build $name" >&2; exit 1; }
  echo "go-build: building $name from $modver (first time only; cached in ${out#"$PWD"/})" >&2
  dir="$(GOFLAGS=-mod=mod go mod download -json "$modver" \
    | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))')" || {
    echo "go-build: the Go module proxy did not give $modver (see the error above)" >&2; exit 1; }
  mkdir -p "$(dirname "$out")"
  (cd "$dir" && CGO_ENABLED="${CGO_ENABLED:-0}" GOFLAGS="-mod=readonly -buildvcs=false" \
    go build -trimpath -o "$out.partial" "$@" "./$package")
  mv "$out.partial" "$out"
fi
mkdir -p "$tools/bin"
ln -sfn "../go/$name-$version/$name" "$tools/bin/$name"
