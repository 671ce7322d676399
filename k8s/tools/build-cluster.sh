#!/usr/bin/env bash
# Builds every program the local cluster runs from its official Go module at the version pinned in
# k8s/versions.env, once: go-build.sh caches each under .tools/go/NAME-VERSION. The first run takes
# most of an hour on two cores (Kubernetes alone is six large programs); later runs take a second.
# Builds run under nice: they share the machine with whatever else is running.
#
#   k8s/tools/build-cluster.sh [PART...]    everything, or only the named parts (e.g. argo_cli)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)

build() { nice -n 10 k8s/tools/go-build.sh "$@"; }

# The release's time and commit, for version strings: from the module proxy's record of the version,
# so that the same version always builds the same binary.
module_field() { # MODULE@VERSION FIELD
  [ -n "$(command -v go)" ] || return 0
  go list -m -json "$1" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print({"Time": d.get("Time", ""), "Hash": (d.get("Origin") or {}).get("Hash", "")}[sys.argv[1]])' "$2"
}

kubernetes() {
  local modver="k8s.io/kubernetes@$KUBERNETES_VERSION" minor ldflags="-s -w" pkg name
  minor="${KUBERNETES_VERSION#v1.}"
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(module_field "$modver" Time)"
  done
  for name in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl kubelet; do
    # Upstream links the kubelet dynamically (cgo) and every other server statically.
    local cgo=0
    [ "$name" = kubelet ] && cgo=1
    CGO_ENABLED=$cgo build --published-replaces "$KUBERNETES_STAGING_VERSION" "$name" "$modver" "cmd/$name" \
      -tags=selinux,notest -ldflags="$ldflags"
  done
}

ARGO_MODULE="github.com/argoproj/argo-workflows/v3@$ARGO_WORKFLOWS_VERSION"
argo_ldflags() {
  local p=github.com/argoproj/argo-workflows/v3
  echo "-s -w -X $p.version=$ARGO_WORKFLOWS_VERSION -X $p.gitTag=$ARGO_WORKFLOWS_VERSION" \
    "-X $p.gitTreeState=clean -X $p.buildDate=$(module_field "$ARGO_MODULE" Time)" \
    "-X $p.gitCommit=$(module_field "$ARGO_MODULE" Hash)"
}

argo_cli() { # also what make lint needs, alone
  build --placeholder ui/dist/app/index.html argo "$ARGO_MODULE" cmd/argo -tags=timetzdata -ldflags="$(argo_ldflags)"
}

argo() {
  # timetzdata: CronWorkflow timezones need the zone database, and our images are FROM scratch.
  build workflow-controller "$ARGO_MODULE" cmd/workflow-controller -tags=timetzdata -ldflags="$(argo_ldflags)"
  build --symlink workflow/executor/osspecific/signal_linux.go=signal_darwin.go \
    argoexec "$ARGO_MODULE" cmd/argoexec -ldflags="$(argo_ldflags)"
  argo_cli
  argo_server
}

argo_server() { # argo with the web UI, for argo-server's image: the UI needs Node and yarn
  nice -n 10 k8s/tools/build-argo-ui.sh -tags=timetzdata -ldflags="$(argo_ldflags)"
}

cni_plugins() {
  local plugin
  for plugin in main/bridge main/loopback ipam/host-local meta/portmap meta/firewall; do
    GO_BUILD_BIN=.tools/cni/bin build "${plugin#*/}" "github.com/containernetworking/plugins@$CNI_PLUGINS_VERSION" \
      "plugins/$plugin" -ldflags="-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION"
  done
}

pause() { # our own program, in the repo: cached by the hash of its source
  local hash out
  hash="$(cat k8s/images/pause/go.mod k8s/images/pause/main.go | sha256sum | cut -c1-12)"
  out=".tools/go/pause-$hash/pause"
  if [ ! -x "$out" ]; then
    mkdir -p "$(dirname "$out")"
    (cd k8s/images/pause && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags='-s -w' -o "$OLDPWD/$out" .)
  fi
  ln -sfn "../go/pause-$hash/pause" .tools/bin/pause
}

mkdir -p .tools/bin
if [ $# -gt 0 ]; then # only these, e.g. build-cluster.sh argo_cli
  for part in "$@"; do "$part"; done
  exit 0
fi
kubernetes
build --published-replaces "$ETCD_VERSION" etcd "go.etcd.io/etcd/server/v3@$ETCD_VERSION" . -ldflags="-s -w"
build coredns "github.com/coredns/coredns@$COREDNS_VERSION" . -ldflags="-s -w"
cni_plugins
argo
build spark-operator "github.com/kubeflow/spark-operator/v2@$SPARK_OPERATOR_VERSION" cmd/operator \
  -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$SPARK_OPERATOR_VERSION"
nice -n 10 k8s/tools/build-minio.sh   # shared with make minio, which also runs MinIO outside the cluster
build mc "$MC_MODULE" . -ldflags="-s -w -X github.com/minio/mc/cmd.Version=${MC_RELEASE#RELEASE.} -X github.com/minio/mc/cmd.ReleaseTag=$MC_RELEASE"
# The NetworkPolicy enforcer, patched for this machine's kernel (the patch says why).
build --patch k8s/patches/kube-network-policies-nfqueue-target.patch kube-network-policies \
  "sigs.k8s.io/kube-network-policies@$KUBE_NETWORK_POLICIES_VERSION" cmd -ldflags="-s -w"
pause
