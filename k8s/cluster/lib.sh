# Shared by k8s/cluster-{up,down,check}.sh: where the local cluster keeps its files, its addresses,
# and how its processes are started and stopped. Sourced from the repository's root.
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this

# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)

# .tools may be a symlink (git worktrees share one): the kubelet and containerd want real paths.
mkdir -p .tools
TOOLS="$(realpath .tools)"
BIN="$TOOLS/bin"
CLUSTER="$TOOLS/cluster"          # certificates, configs, logs, pids; kubelet's and containerd's roots
PKI="$CLUSTER/pki"
LOGS="$CLUSTER/logs"
PIDS="$CLUSTER/pids"
KUBECONFIG_FILE="$CLUSTER/kubeconfig"  # cluster-admin, for people and tests
KUBELET_DIR="$CLUSTER/kubelet"
CONTAINERD_ROOT="$CLUSTER/containerd"  # images and snapshots: kept by cluster-down, a cache
# Volatile state lives in tmpfs mounts of our own, so that nothing of it outlives cluster-down:
# etcd's data (Secrets included: they never reach the disk) and containerd's runtime state.
ETCD_DATA="$CLUSTER/etcd"
RUN_DIR=/run/breweries-cluster
CONTAINERD_SOCK="$RUN_DIR/containerd/containerd.sock"
CNI_BIN="$TOOLS/cni/bin"
CNI_CONF="$CLUSTER/cni/net.d"
CNI_DATA="$CLUSTER/cni/networks"

NODE_NAME=breweries
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
API_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
BRIDGE=brw0                       # the pods' bridge; named apart from docker0
CLUSTER_DOMAIN=cluster.local
IMAGE_PREFIX=localhost/breweries  # `localhost/`: a pull of a missing image never leaves the machine

# The node's address: the one on the interface of the default route, unless BREWERIES_NODE_IP says.
node_ip() {
  if [ -n "${BREWERIES_NODE_IP:-}" ]; then echo "$BREWERIES_NODE_IP"; return; fi
  local dev
  dev="$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1); exit}')"
  [ -n "$dev" ] || die "no default route to find this node's address; set BREWERIES_NODE_IP to one of its addresses"
  ip -4 -o addr show dev "$dev" | awk '{split($4, a, "/"); print a[1]; exit}'
}

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }

kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
ctr() { command ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# Writes stdin to FILE, unless FILE already holds exactly that (its readers may watch it).
update_file() {
  cat >"$1.partial"
  if cmp -s "$1.partial" "$1"; then rm -f "$1.partial"; else mv "$1.partial" "$1"; fi
}

# Retries COMMAND every second until it succeeds, or fails after SECONDS naming what it waited for.
wait_for() { # SECONDS DESCRIPTION COMMAND...
  local seconds="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "timed out after ${seconds}s waiting for $what (logs: $LOGS)"
    sleep 1
  done
}

pid_of() { # NAME: the pid of our running process NAME, or nothing
  local pid
  pid="$(cat "$PIDS/$1.pid" 2>/dev/null)" || return 0
  # A recycled pid would run something else: the command line must still be ours.
  if [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$(head -c 200 "$PIDS/$1.cmd")"; then
    echo "$pid"
  fi
}

# Starts COMMAND in the background as process NAME (log in $LOGS/NAME.log), unless it already runs
# with the same command line and the same contents of the files in $WATCH: then it is left alone,
# so a second cluster-up restarts only what died or changed.
start_process() { # NAME COMMAND...
  local name="$1" want pid digest watched
  shift
  want="$(printf '%q ' "$@")"
  read -r -a watched <<<"${WATCH:-}"
  digest="$want $(cat "${watched[@]}" /dev/null 2>/dev/null | sha256sum | cut -c1-16)"
  pid="$(pid_of "$name")"
  if [ -n "$pid" ]; then
    [ "$(cat "$PIDS/$name.digest" 2>/dev/null)" = "$digest" ] && return 0
    log "restarting $name: its command or configuration changed"
    stop_process "$name"
  fi
  mkdir -p "$PIDS" "$LOGS"
  log "starting $name"
  [ ! -s "$LOGS/$name.log" ] || mv -f "$LOGS/$name.log" "$LOGS/$name.log.1"
  # setsid: the process outlives make and its terminal; cluster-down stops it by its pid.
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo "$!" >"$PIDS/$name.pid"
  printf '%s' "$1" >"$PIDS/$name.cmd"
  echo "$digest" >"$PIDS/$name.digest"
}

stop_process() { # NAME: TERM, then KILL after 20 s
  local name="$1" pid i
  pid="$(pid_of "$name")"
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDS/$name.pid" "$PIDS/$name.cmd" "$PIDS/$name.digest"
}

# The name of each image the cluster runs; k8s/tools/build-images.sh builds them.
pause_image() { echo "$IMAGE_PREFIX/pause:$(cat k8s/images/pause/go.mod k8s/images/pause/main.go | sha256sum | cut -c1-12)"; }
image() { # COMPONENT
  case "$1" in
    pause) pause_image ;;
    coredns) echo "$IMAGE_PREFIX/coredns:$COREDNS_VERSION" ;;
    workflow-controller | argoexec) echo "$IMAGE_PREFIX/$1:$ARGO_WORKFLOWS_VERSION" ;;
    argocli) echo "$IMAGE_PREFIX/argocli:$ARGO_WORKFLOWS_VERSION-ui" ;;  # with the web UI: not upstream's image
    spark-operator) echo "$IMAGE_PREFIX/spark-operator:$SPARK_OPERATOR_VERSION" ;;
    minio) echo "$IMAGE_PREFIX/minio:$MINIO_RELEASE" ;;
    mc) echo "$IMAGE_PREFIX/mc:$MC_RELEASE" ;;
    kube-network-policies) echo "$IMAGE_PREFIX/kube-network-policies:$KUBE_NETWORK_POLICIES_VERSION" ;;
    prometheus) echo "$IMAGE_PREFIX/prometheus:$PROMETHEUS_VERSION" ;; # k8s/tools/prometheus.sh builds and loads it
    *) die "no image named $1" ;;
  esac
}
# The start of an image's ID: put in pod annotations, so that an image rebuilt under the same tag
# (a new Dockerfile, say) rolls the pods that run it.
image_id() { docker image inspect -f '{{.Id}}' "$(image "$1")" | cut -c8-19; }
CLUSTER_IMAGES="pause coredns workflow-controller argoexec argocli spark-operator minio mc kube-network-policies"
