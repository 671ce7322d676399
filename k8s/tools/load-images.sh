#!/usr/bin/env bash
# Copies images from the Docker engine into the local cluster's containerd (namespace k8s.io), where
# the kubelet finds them: docker save | ctr import. With no registry, this is how every image reaches
# the cluster; pods use imagePullPolicy IfNotPresent (or Never). An image already loaded with the
# same content (same image ID) is skipped.
#
#   k8s/tools/load-images.sh IMAGE...       e.g. localhost/breweries/bronze:0.1.0
set -euo pipefail
cd "$(dirname "$0")/../.."
source k8s/cluster/lib.sh

[ $# -gt 0 ] || die "usage: k8s/tools/load-images.sh IMAGE..."
[ -S "$CONTAINERD_SOCK" ] || die "the local cluster's containerd is not running: run make cluster-up"

# The image ID (config digest) containerd holds under REF, or nothing. containerd names images in
# full (registry host included, as a pull would): REF matches the whole name or its tail.
loaded_id() {
  local name manifest
  name="$(ctr images ls -q | awk -v ref="$1" '$0 == ref || substr($0, length($0) - length(ref)) == "/" ref' | head -1)"
  [ -n "$name" ] || return 0
  manifest="$(ctr images ls "name==$name" | awk 'NR > 1 {print $3}')"
  ctr content get "$manifest" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["config"]["digest"])' 2>/dev/null || true
}

missing=()
for ref in "$@"; do
  id="$(docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null)" || die "no image $ref in Docker: build it first"
  case "${ref##*/}" in *:* | *@*) ;; *) ref="$ref:latest" ;; esac
  [ "$(loaded_id "$ref")" = "$id" ] || missing+=("$ref")
done
[ ${#missing[@]} -gt 0 ] || exit 0
# One archive for all: layers the images share (the stage images are their base plus a file) are
# written and imported once.
log "loading ${missing[*]} into the cluster"
docker save "${missing[@]}" | ctr images import - >/dev/null || die "ctr import of ${missing[*]} failed"
for ref in "${missing[@]}"; do
  [ "$(loaded_id "$ref")" = "$(docker image inspect -f '{{.Id}}' "$ref")" ] \
    || die "$ref was imported but containerd does not list it"
done
