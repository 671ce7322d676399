#!/usr/bin/env bash
# Builds the images the local cluster runs (k8s/images/<name>/Dockerfile) with the Docker engine,
# from the programs k8s/tools/build-cluster.sh built: no image is pulled from anywhere. Each build
# context is assembled in a temporary directory: the image's programs, plus a rootfs/ with what a
# distroless base would give (/tmp, /etc/nsswitch.conf). An image is rebuilt only when its inputs
# change (their digest is the image's label breweries.inputs).
#
#   k8s/tools/build-images.sh [NAME...]     default: every cluster image
set -euo pipefail
cd "$(dirname "$0")/../.."
source k8s/cluster/lib.sh

docker info >/dev/null 2>&1 || die "the Docker engine does not answer: start dockerd"

# A file from a pinned Debian package, fetched once with apt (which verifies it): PACKAGE VERSION PATH
deb_file() {
  local dir="$TOOLS/deb/$1-${2//:/%3a}"
  if [ ! -s "$dir/.extracted" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    # apt warns that it downloads as root when its _apt user cannot write here: it is harmless.
    (cd "$dir" && apt-get download -q "$1=$2" 2>&1 >/dev/null | { grep -v '^W: Download is performed unsandboxed' >&2 || true; }) \
      || die "apt-get download $1=$2 failed: run apt-get update, or pin the version apt-cache policy $1 offers in k8s/versions.env"
    dpkg-deb -x "$dir"/*.deb "$dir/root"
    touch "$dir/.extracted"
  fi
  echo "$dir/root/$3"
}

inputs() { # NAME: the programs (and files) that go into the image, one path a line
  case "$1" in
    pause) echo "$BIN/pause" ;;
    coredns) echo "$BIN/coredns" ;;
    workflow-controller) echo "$BIN/workflow-controller" ;;
    argoexec) echo "$BIN/argoexec" ;;
    argocli) echo "$BIN/argo-server:argo" ;;   # argo with the web UI (build-argo-ui.sh)
    spark-operator) echo "$BIN/spark-operator" ;;
    minio) echo "$BIN/minio" ;;
    kube-network-policies) echo "$BIN/kube-network-policies" ;;
    mc) echo "$BIN/mc"; echo "$(deb_file busybox-static "$BUSYBOX_DEB" bin/busybox):busybox" ;;
    prometheus) echo "$BIN/prometheus"; echo "$BIN/promtool"; echo "$TOOLS/prometheus-ui-$PROMETHEUS_MODULE_VERSION/ui.tar" ;;
  esac
}

build_image() { # NAME
  local name="$1" tag dockerfile="k8s/images/$1/Dockerfile" files digest context input src dest previous
  tag="$(image "$name")"
  files="$(inputs "$name")"
  local args=()
  if [ "$name" = spark-operator ]; then
    docker image inspect "$SPARK_STANDIN_IMAGE" >/dev/null 2>&1 \
      || die "the Spark image $SPARK_STANDIN_IMAGE is not in Docker yet (the project's images build it); build it, then rerun"
    args=(--build-arg "SPARK_IMAGE=$SPARK_STANDIN_IMAGE")
    files+=$'\n'"$(docker image inspect -f '{{.Id}}' "$SPARK_STANDIN_IMAGE")"
  fi
  # What the image is made of: the Dockerfile and each input's real path, size and time.
  digest="$({ cat "$dockerfile"; while IFS= read -r input; do
      src="${input%%:*}"; [ -e "$src" ] && stat -L -c '%n %s %Y' "$(realpath "$src")" || echo "$input"
    done <<<"$files"; } | sha256sum | cut -c1-16)"
  if [ "$(docker image inspect -f '{{index .Config.Labels "breweries.inputs"}}' "$tag" 2>/dev/null)" = "$digest" ]; then
    return
  fi
  log "building image $tag"
  previous="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
  context="$(mktemp -d)"
  mkdir -p "$context/rootfs/etc" "$context/rootfs/tmp"
  chmod 1777 "$context/rootfs/tmp"
  echo "hosts: files dns" >"$context/rootfs/etc/nsswitch.conf"
  while IFS= read -r input; do
    case "$input" in sha256:*) continue ;; esac
    src="${input%%:*}"; dest="${input#*:}"; [ "$dest" = "$input" ] && dest="$(basename "$src")"
    [ -e "$src" ] || die "$src is missing: run k8s/tools/build-cluster.sh (Prometheus: k8s/tools/build-prometheus.sh)"
    cp -L "$src" "$context/$dest"
  done <<<"$files"
  # Quiet unless it fails: the legacy builder warns of its deprecation on every build.
  if ! docker build -q -f "$dockerfile" "${args[@]}" --label "breweries.inputs=$digest" -t "$tag" "$context" \
    >"$context.log" 2>&1; then
    cat "$context.log" >&2
    rm -rf "$context" "$context.log"
    die "docker build of $tag failed (see above)"
  fi
  rm -rf "$context" "$context.log"
  # The image this one replaces, now untagged: ours, so ours to remove (unless a container uses it).
  if [ -n "$previous" ] && [ -z "$(docker image inspect -f '{{join .RepoTags ""}}' "$previous" 2>/dev/null)" ]; then
    docker image rm "$previous" >/dev/null 2>&1 || true
  fi
}

names=("$@")
[ $# -gt 0 ] || read -r -a names <<<"$CLUSTER_IMAGES"
for name in "${names[@]}"; do
  build_image "$name"
done
