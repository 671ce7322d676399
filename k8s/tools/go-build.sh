#!/usr/bin/env bash
# Builds a Go program from its official module at a pinned version, through the Go module proxy
# (the Go checksum database verifies every module it downloads), and links it as .tools/bin/NAME
# (or $GO_BUILD_BIN/NAME).
#
#   k8s/tools/go-build.sh [--published-replaces VERSION] [--placeholder FILE] [--symlink FILE=TARGET]
#                         [--patch FILE] NAME MODULE@VERSION PACKAGE [go build flags...]
#
# The build is cached as .tools/go/NAME-VERSION/NAME: a second call only relinks. It is built
# inside the module's own directory, so the module's go.mod (its replace directives included)
# decides every dependency, as `go install MODULE/PACKAGE@VERSION` would when it can.
#
# Some modules cannot be built from their zip as is; these options build them from a copy in
# .tools/go/src/MODULE@VERSION instead:
#   --published-replaces VERSION  for monorepos (k8s.io/kubernetes, etcd) whose go.mod replaces
#       required modules with sibling directories (./staging/..., ../api). A module zip never holds
#       those, as each is a module of its own, published at VERSION from the same release: each
#       such replace is pointed at the published module@VERSION (the checksum database verifies it).
#   --placeholder FILE  creates an empty FILE that the build embeds but the zip lacks (Argo's web
#       UI, built with npm; upstream's Makefile does the same when it builds without the UI).
#   --symlink FILE=TARGET  restores a symlink of the repository: module zips leave symlinks out
#       (Argo's signal_linux.go is a link to signal_darwin.go).
#   --patch FILE  applies FILE (a unified diff, patch -p1) to the copy: a change this machine needs
#       that the release lacks (k8s/patches says why for each). The patches' hash joins the cache
#       key (.tools/go/NAME-VERSION-patched-HASH), so a changed patch rebuilds.
# These options may be repeated.
set -euo pipefail

usage="usage: go-build.sh [--published-replaces VERSION] [--placeholder FILE] [--symlink FILE=TARGET] [--patch FILE] NAME MODULE@VERSION PACKAGE [go build flags...]"
published=""
placeholders=()
symlinks=()
patches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --published-replaces) published="${2:?$usage}"; shift 2 ;;
    --placeholder) placeholders+=("${2:?$usage}"); shift 2 ;;
    --symlink) symlinks+=("${2:?$usage}"); shift 2 ;;
    --patch)
      [ -f "${2:?$usage}" ] || { echo "go-build: no patch file $2" >&2; exit 1; }
      patches+=("$(realpath "$2")"); shift 2 ;;
    *) break ;;
  esac
done
name="${1:?$usage}"
modver="${2:?$usage}"
package="${3:?$usage}"
shift 3
tools="$(realpath -m "${TOOLS:-.tools}")"
bin="$(realpath -m "${GO_BUILD_BIN:-$tools/bin}")"
version="${modver#*@}"
# A patched build is cached apart from the release's, keyed by the patches too.
patched=""
[ ${#patches[@]} -eq 0 ] || patched="-patched-$(cat "${patches[@]}" | sha256sum | cut -c1-12)"
out="$tools/go/$name-$version$patched/$name"

# Prints the directory of a writable copy of the module at $1, prepared as the options ask. Builds
# of several programs of one module share the copy: each adds the files it needs.
writable_copy() {
  local dir="$tools/go/src/${modver//\//_}$patched" file
  if [ ! -f "$dir/.copied" ]; then
    rm -rf "$dir" "$dir.partial"
    mkdir -p "$(dirname "$dir")"
    cp -r "$1" "$dir.partial"
    chmod -R u+w "$dir.partial"
    if [ -n "$published" ]; then
      # Only required modules: etcd also replaces modules it forbids (./FORBIDDEN_DEPENDENCY).
      (cd "$dir.partial" && go mod edit -json | python3 -c '
import json, sys
mod = json.load(sys.stdin)
required = {r["Path"] for r in mod.get("Require") or []}
for r in mod.get("Replace") or []:
    if r["Old"]["Path"] in required and r["New"]["Path"].startswith((".", "/")):
        print(r["Old"]["Path"])
' | while read -r path; do go mod edit -replace="$path=$path@$published"; done)
    fi
    for file in "${patches[@]}"; do
      command -v patch >/dev/null || { echo "go-build: patch is not on PATH (apt-get install patch)" >&2; exit 1; }
      patch -s -p1 -d "$dir.partial" <"$file" >&2 \
        || { echo "go-build: $file does not apply to $modver: update it for this version" >&2; exit 1; }
    done
    touch "$dir.partial/.copied"
    mv "$dir.partial" "$dir"
  fi
  for file in "${placeholders[@]}"; do
    mkdir -p "$(dirname "$dir/$file")"
    [ -e "$dir/$file" ] || touch "$dir/$file"
  done
  for file in "${symlinks[@]}"; do
    ln -sfn "${file#*=}" "$dir/${file%%=*}"
  done
  echo "$dir"
}

if [ ! -x "$out" ]; then
  command -v go >/dev/null || {
    echo "go-build: Go is not on PATH; install Go 1.24 or newer to build $name" >&2; exit 1; }
  echo "go-build: building $name from $modver (first time only; cached in ${out#"$PWD"/})" >&2
  dir="$(GOFLAGS=-mod=mod go mod download -json "$modver" \
    | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))')" || {
    echo "go-build: the Go module proxy did not give $modver (see the error above)" >&2; exit 1; }
  mode="readonly"
  if [ -n "$published" ] || [ ${#placeholders[@]} -gt 0 ] || [ ${#symlinks[@]} -gt 0 ] || [ -n "$patched" ]; then
    dir="$(writable_copy "$dir")"
    # -mod=mod records the published modules' checksums in the copy's go.sum.
    [ -z "$published" ] || mode=mod
  fi
  mkdir -p "$(dirname "$out")"
  # GOWORK=off: some modules ship a go.work naming the directories their zip lacks.
  (cd "$dir" && GOWORK=off CGO_ENABLED="${CGO_ENABLED:-0}" GOFLAGS="-mod=$mode -buildvcs=false" \
    go build -trimpath -o "$out.partial" "$@" "./$package")
  mv "$out.partial" "$out"
fi
mkdir -p "$bin"
ln -sfn "$(realpath --relative-to="$bin" "$out")" "$bin/$name"
