#!/usr/bin/env bash
# A single-node Kubernetes on this machine, with no image registry and no internet: etcd, the
# control plane, containerd, the kubelet and kube-proxy run as background processes (pids and logs
# in .tools/cluster), built from source; then CoreDNS, Argo Workflows and the Spark Operator, our
# images loaded straight into containerd. Idempotent: rerun to repair; cached builds, images and
# certificates are reused. `make cluster-down` stops it all. See k8s/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source k8s/cluster/lib.sh
source k8s/cluster/pki.sh
source k8s/cluster/configs.sh
HELM="${HELM:-$BIN/helm}"
BREWERIES_IMAGES=localhost/breweries
# The uid the chart runs PostgreSQL as (helm/breweries/templates/postgresql-statefulset.yaml): it
# owns the catalog's data folder.
POSTGRESQL_UID=10999
# The uid the chart runs MinIO as (helm/breweries/templates/minio-deployment.yaml): it owns MinIO's
# data folder.
MINIO_UID=10001

# The steps, in order, with what each cost here (k8s/README.md#timings): the first run builds
# everything, later ones reuse .tools, the Go caches and Docker's images.
STEPS=(
  "check this machine (installs containerd, runc and Docker where missing)"
  "the project's images: the Spark stand-in, base and stages, PostgreSQL, Trino (first run: about 5 min; then seconds)"
  "Kubernetes, etcd, CNI, CoreDNS, Argo, the Spark Operator, MinIO and the policy enforcer from Go source (first run: 30 to 70 min; then seconds)"
  "the cluster's images (seconds)"
  "certificates, etcd, the control plane, containerd and the kubelet"
  "CoreDNS, the NetworkPolicy enforcer, Argo Workflows and the Spark Operator"
  "the breweries chart: Secrets, images into the cluster, helm install"
  "Prometheus, scraping Argo and the Spark Operator (k8s/tools/prometheus.sh; first run: builds it and its UI from source, 25 to 30 min)"
)
step() { log "step $1/${#STEPS[@]}: ${STEPS[$1 - 1]}"; }

# Debian's packages for the host programs the cluster runs; containerd and runc at their pins.
host_packages() {
  local tool package missing=()
  declare -A package_of=([containerd]="containerd=$CONTAINERD_DEB" [containerd-shim-runc-v2]="containerd=$CONTAINERD_DEB"
    [ctr]="containerd=$CONTAINERD_DEB" [runc]="runc=$RUNC_DEB" [iptables]=iptables [ip6tables]=iptables [ip]=iproute2
    [openssl]=openssl [curl]=curl [mount]=mount [debootstrap]=debootstrap)
  for tool in "${!package_of[@]}"; do
    command -v "$tool" >/dev/null || missing+=("${package_of[$tool]}")
  done
  [ "${#missing[@]}" -eq 0 ] && return
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  command -v apt-get >/dev/null || die "missing ${missing[*]}, and no apt-get to install them: install them, then rerun"
  log "installing Debian's ${missing[*]} (log: .tools/cluster/apt.log)"
  mkdir -p "$CLUSTER"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } \
    >"$CLUSTER/apt.log" 2>&1 || die "apt-get could not install ${missing[*]}: see .tools/cluster/apt.log (a pin gone from Debian? apt-cache policy NAME, then k8s/versions.env)"
}

# Go builds the cluster's programs: Kubernetes 1.34's modules need Go 1.24 or newer.
go_toolchain() {
  command -v go >/dev/null || die "Go 1.24 or newer is needed to build the cluster's programs from source: install it (https://go.dev/doc/install) and put go on PATH"
  local version minor
  version="$(go env GOVERSION)"
  minor="$(sed -E 's/^go1\.([0-9]+).*/\1/' <<<"$version")"
  [[ "$minor" =~ ^[0-9]+$ && "$minor" -ge 24 ]] || die "go is $version; Kubernetes 1.34 needs Go 1.24 or newer: install a newer Go"
}

# Whether the long builds are still to do: a missing program or image means the first run's costs.
first_run() {
  local name
  for name in kubelet kube-apiserver etcd minio; do [ -x "$BIN/$name" ] || return 0; done
  docker image inspect "$SPARK_STANDIN_IMAGE" >/dev/null 2>&1 || return 0
  return 1
}

# What a first run downloads from, each reached within seconds or named.
registries_reachable() {
  local proxy pids=() names=() failed=() i
  local -A urls=(
    ["Debian (debootstrap, apt)"]="${ROOTFS_MIRROR:-http://deb.debian.org/debian}/dists/bookworm/Release"
    ["Maven Central (jars, Trino)"]="${MAVEN_CENTRAL:-https://repo1.maven.org/maven2}/io/trino/trino-server/maven-metadata.xml"
    ["PyPI (the images' wheels)"]="$(python3 -m pip config get global.index-url 2>/dev/null || echo https://pypi.org/simple)/pip/"
  )
  proxy="$(go env GOPROXY | cut -d, -f1)"
  case "$proxy" in off | direct) ;; *) urls["the Go module proxy"]="$proxy/k8s.io/kubernetes/@v/$KUBERNETES_VERSION.info" ;; esac
  for i in "${!urls[@]}"; do
    curl -fsS -o /dev/null -m 10 "${urls[$i]}" 2>/dev/null &
    pids+=("$!")
    names+=("$i at ${urls[$i]}")
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done
  [ "${#failed[@]}" -eq 0 ] || die "the first run downloads from package registries, and these could not be reached (10 s at most each): $(IFS=';'; echo "${failed[*]}"). Check the network or the proxy settings"
}

# Free space where the builds go: the first run needs about 30 GB (k8s/README.md#timings).
disk_space() { # GIGABYTES
  local dir free
  for dir in "$TOOLS" "$(go env GOCACHE)" "$(go env GOMODCACHE)" "$(docker info -f '{{.DockerRootDir}}')"; do
    mkdir -p "$dir" 2>/dev/null || continue
    free="$(df -Pk "$dir" | awk 'NR == 2 {print int($4 / 1048576)}')"
    [ "$free" -ge "$1" ] || die "$dir has $free GB free; this run needs about $1 GB there: free some, or point GOCACHE, GOMODCACHE or Docker elsewhere"
  done
}

# Everything the run needs, checked (or installed) in its first seconds, before any long build.
preflight() {
  [ "$(id -u)" = 0 ] || die "the local cluster runs containerd, the kubelet and iptables: run it as root (or use make cluster-up-kind)"
  local tool
  for tool in python3 apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH: the local cluster is built on Debian or Ubuntu (else use make cluster-up-kind)"
  done
  host_packages
  k8s/tools/docker-engine.sh
  go_toolchain
  command -v npx >/dev/null || die "npx is not on PATH: argo-server's web UI is built with Node 20+ and npm (k8s/tools/build-argo-ui.sh)"
  local package pinned have
  for package in containerd runc; do
    pinned="$CONTAINERD_DEB"
    [ "$package" = containerd ] || pinned="$RUNC_DEB"
    have="$(dpkg-query -W -f '${Version}' "$package" 2>/dev/null || echo "not Debian's")"
    [ "$have" = "$pinned" ] || log "warning: $package is $have, k8s/versions.env pins $pinned; going on"
  done
  # Pods reach Services through the bridge: both must be on for kube-proxy's rules to see them.
  sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 \
    || die "cannot enable IP forwarding and bridge netfilter (the kernel needs br_netfilter built in)"
  if first_run; then
    log "first run: the builds below take 40 to 80 min on 2 cores and about 30 GB of disk"
    disk_space 30
    registries_reachable
  else
    disk_space 3
  fi
}

mount_tmpfs() { # DIR SIZE
  mountpoint -q "$1" && return
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1"
}

module_dir() { go mod download -json "$1" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))'; }

# Binaries are named by their real path, so that a new version restarts the process.
binary() { realpath "$BIN/$1"; }

control_plane() {
  mount_tmpfs "$ETCD_DATA" 1g
  WATCH="$PKI/etcd-server.crt $PKI/etcd-ca.crt" start_process etcd "$(binary etcd)" --name "$NODE_NAME" \
    --data-dir "$ETCD_DATA" \
    --listen-client-urls https://127.0.0.1:2379 --advertise-client-urls https://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster "$NODE_NAME=http://127.0.0.1:2380" --listen-metrics-urls http://127.0.0.1:2381 \
    --cert-file "$PKI/etcd-server.crt" --key-file "$PKI/etcd-server.key" \
    --trusted-ca-file "$PKI/etcd-ca.crt" --client-cert-auth
  wait_for 60 etcd curl -fsS http://127.0.0.1:2381/health

  WATCH="$PKI/apiserver.crt $PKI/ca.crt $PKI/front-proxy-client.crt $PKI/sa.pub" start_process kube-apiserver "$(binary kube-apiserver)" \
    --advertise-address "$NODE_IP" --bind-address "$NODE_IP" --secure-port 6443 \
    --etcd-servers https://127.0.0.1:2379 --etcd-cafile "$PKI/etcd-ca.crt" \
    --etcd-certfile "$PKI/apiserver-etcd-client.crt" --etcd-keyfile "$PKI/apiserver-etcd-client.key" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --allow-privileged --profiling=false
  wait_for 120 "the API server" kubectl get --raw /readyz

  WATCH="$CLUSTER/controller-manager.kubeconfig" start_process kube-controller-manager \
    "$(binary kube-controller-manager)" --kubeconfig "$CLUSTER/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --client-ca-file "$PKI/ca.crt" --cluster-name breweries \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --root-ca-file "$PKI/ca.crt" --service-account-private-key-file "$PKI/sa.key" \
    --use-service-account-credentials --service-cluster-ip-range "$SERVICE_CIDR" \
    --leader-elect=false --profiling=false
  WATCH="$CLUSTER/scheduler.kubeconfig" start_process kube-scheduler "$(binary kube-scheduler)" \
    --kubeconfig "$CLUSTER/scheduler.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER/scheduler.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false
}

node_ready() {
  [ "$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

worker_node() {
  mount_tmpfs "$RUN_DIR" 256m
  WATCH="$CLUSTER/containerd.toml" start_process containerd "$(command -v containerd)" --config "$CLUSTER/containerd.toml"
  wait_for 30 containerd ctr version
  local images=() name
  for name in $CLUSTER_IMAGES; do images+=("$(image "$name")"); done
  k8s/tools/load-images.sh "${images[@]}"

  WATCH="$CLUSTER/kubelet.yaml $CLUSTER/kubelet.kubeconfig $PKI/kubelet-server.crt" start_process kubelet \
    "$(binary kubelet)" --config "$CLUSTER/kubelet.yaml" --kubeconfig "$CLUSTER/kubelet.kubeconfig" \
    --root-dir "$KUBELET_DIR" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"
  WATCH="$CLUSTER/kube-proxy.yaml $CLUSTER/kube-proxy.kubeconfig" start_process kube-proxy \
    "$(binary kube-proxy)" --config "$CLUSTER/kube-proxy.yaml"
  wait_for 120 "node $NODE_NAME to be Ready" node_ready
}

coredns() {
  sed -e "s|@COREDNS_IMAGE@|$(image coredns)|" -e "s|@COREDNS_IMAGE_ID@|$(image_id coredns)|" \
    -e "s|@DNS_SERVICE_IP@|$DNS_SERVICE_IP|" \
    -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" k8s/cluster/coredns.yaml | kubectl apply -f - >/dev/null
}

# NetworkPolicy enforcement (k8s/cluster/kube-network-policies.yaml); before the pods it governs.
network_policies() {
  sed -e "s|@IMAGE@|$(image kube-network-policies)|" -e "s|@IMAGE_ID@|$(image_id kube-network-policies)|" \
    k8s/cluster/kube-network-policies.yaml | kubectl apply -f - >/dev/null
}

argo_workflows() {
  local dir="$CLUSTER/argo-install"
  rm -rf "$dir" && mkdir -p "$dir"
  cp -r "$(module_dir "github.com/argoproj/argo-workflows/v3@$ARGO_WORKFLOWS_VERSION")/manifests" "$dir/upstream"
  chmod -R u+w "$dir/upstream"
  sed -e "s|@WORKFLOW_CONTROLLER_IMAGE@|$(image workflow-controller)|" -e "s|@ARGOEXEC_IMAGE@|$(image argoexec)|" \
    -e "s|@ARGOCLI_IMAGE@|$(image argocli)|" -e "s|@WORKFLOW_CONTROLLER_IMAGE_ID@|$(image_id workflow-controller)|" \
    -e "s|@ARGOCLI_IMAGE_ID@|$(image_id argocli)|" k8s/cluster/argo/kustomization.yaml >"$dir/kustomization.yaml"
  kubectl apply --server-side --force-conflicts -k "$dir" >/dev/null
}

spark_operator() {
  "$HELM" upgrade --install spark-operator \
    "$(module_dir "github.com/kubeflow/spark-operator/v2@$SPARK_OPERATOR_VERSION")/charts/spark-operator-chart" \
    --kubeconfig "$KUBECONFIG_FILE" --namespace spark-operator \
    --values k8s/cluster/spark-operator-values.yaml --set image.tag="$SPARK_OPERATOR_VERSION" \
    --set-string "controller.annotations.breweries\.local/image-id=$(image_id spark-operator)" \
    --set-string "webhook.annotations.breweries\.local/image-id=$(image_id spark-operator)" \
    --wait --timeout 5m >/dev/null
  # Who opens the UI (README, "Watch runs in the Argo UI") logs in with this account's token.
  kubectl apply -f k8s/argo-ui-viewer.yaml >/dev/null
}

# Trino's trial identities, `analyst` and `engineer`, with random passwords, and its TLS (Trino takes
# passwords over HTTPS only). Secret breweries-trino-clients holds what clients need: the passwords
# and the certificate to check (tests/e2e, the README's walk-through); breweries-trino the password
# file Trino checks logins against and its nodes' shared secret; breweries-trino-tls the key and
# self-signed certificate for `localhost` (kubectl port-forward) and the Service's names. Made
# together, so that they always agree. The password file holds PBKDF2 hashes, the form of Trino's
# file authenticator that Python's standard library makes; its PBKDF2 is HMAC-SHA1, with 100,000
# rounds over 128 random bits here.
trino_secrets() {
  kubectl get secret -n breweries breweries-trino breweries-trino-tls breweries-trino-clients >/dev/null 2>&1 && return
  local analyst engineer password_db tls
  analyst="$(openssl rand -hex 16)"
  engineer="$(openssl rand -hex 16)"
  password_db="$(ANALYST="$analyst" ENGINEER="$engineer" python3 -c '
import hashlib, os
for user in ("analyst", "engineer"):
    salt, iterations = os.urandom(16), 100_000
    digest = hashlib.pbkdf2_hmac("sha1", os.environ[user.upper()].encode(), salt, iterations, dklen=32)
    print(f"{user}:{iterations}:{salt.hex()}:{digest.hex()}")')"
  tls="$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)" # memory, not disk, where it can
  local service=breweries-trino
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$service" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:$service,DNS:$service.breweries,DNS:$service.breweries.svc,DNS:$service.breweries.svc.cluster.local" \
    -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null || die "openssl could not make Trino's certificate"
  cat "$tls/key.pem" "$tls/cert.pem" >"$tls/tls.pem"
  kubectl delete secret -n breweries breweries-trino breweries-trino-clients breweries-trino-tls --ignore-not-found >/dev/null
  kubectl create secret generic -n breweries breweries-trino-tls --from-file=tls.pem="$tls/tls.pem" >/dev/null
  kubectl create secret generic -n breweries breweries-trino-clients \
    --from-literal=analyst="$analyst" --from-literal=engineer="$engineer" --from-file=ca.crt="$tls/cert.pem" >/dev/null
  rm -rf "$tls"
  kubectl create secret generic -n breweries breweries-trino \
    --from-literal=password.db="$password_db" --from-literal=shared-secret="$(openssl rand -hex 32)" >/dev/null
  log "created Secrets breweries-trino, breweries-trino-tls and breweries-trino-clients (users analyst, engineer)"
}

# The project's images (make images, cached), named under localhost/ so that a missing one fails at
# once instead of sending the kubelet to a registry. Built before the Go programs: a failing image
# build shows in minutes, not after an hour of other builds.
project_images() {
  local stage
  VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)"
  VERSION="$VERSION" IMAGE_REPOSITORY="$BREWERIES_IMAGES" STAGES="${STAGES:?the Makefile passes STAGES}" \
    images/build.sh
  PROJECT_IMAGES=("$BREWERIES_IMAGES-base:$VERSION")
  for stage in $STAGES; do PROJECT_IMAGES+=("$BREWERIES_IMAGES-${stage//_/-}:$VERSION"); done
  postgresql_image="$(images/postgres/build.sh)"
  trino_image="$(images/trino/build.sh)"
  PROJECT_IMAGES+=("$postgresql_image" "$trino_image")
}

# The breweries chart as release `breweries` in namespace `breweries`, with minio.enabled=true,
# the catalog's PostgreSQL and the images from k8s/tools/load-images.sh. Its trial Secrets already are:
# random values, generated here and never written to disk (etcd's data is in memory).
breweries() {
  secret() { # name, then key=value pairs
    local name="$1"
    shift
    if ! kubectl get secret -n breweries "$name" >/dev/null 2>&1; then
      kubectl create secret generic -n breweries "$name" "${@/#/--from-literal=}" >/dev/null
      log "created Secret breweries/$name"
    fi
  }
  # MinIO's data, in a folder of this machine that outlives the pod (the catalog names its files):
  # made with the root user's Secret, so a folder neither that Secret nor the volume is known with
  # is a previous cluster's, and MinIO starts empty.
  local minio_volume="$CLUSTER/volumes/minio"
  if ! kubectl get secret -n breweries breweries-s3 >/dev/null 2>&1 \
    && ! kubectl get persistentvolume breweries-minio >/dev/null 2>&1; then
    rm -rf "$minio_volume"
  fi
  # MinIO's root user, for MinIO and its set-up Job only; every other process has a key pair of its
  # own identity, allowed only what its work needs (`breweries access-policies`), which the set-up
  # Job makes a MinIO user with its policy.
  secret breweries-s3 "AWS_ACCESS_KEY_ID=breweries" "AWS_SECRET_ACCESS_KEY=$(openssl rand -hex 24)"
  local identity identities
  identities="$("${PYTHON:-.venv/bin/python}" -m breweries.cli access-policies --list)"
  for identity in $identities; do
    secret "breweries-s3-$identity" "AWS_ACCESS_KEY_ID=breweries-$identity" "AWS_SECRET_ACCESS_KEY=$(openssl rand -hex 24)"
  done
  secret breweries-pseudonymization "key=$(openssl rand -hex 32)"
  # The tables' catalog: the chart's PostgreSQL, its data in a folder of this machine that outlives
  # the pod. That data was made with the password of its Secret: when neither the Secret nor the
  # volume is known to the cluster (etcd starts empty after cluster-down), the folder is a previous
  # cluster's, and the database starts anew with the new Secret.
  local catalog_volume="$CLUSTER/volumes/catalog"
  if ! kubectl get secret -n breweries breweries-catalog >/dev/null 2>&1 \
    && ! kubectl get persistentvolume breweries-catalog >/dev/null 2>&1; then
    rm -rf "$catalog_volume"
  fi
  secret breweries-catalog "username=breweries" "password=$(openssl rand -hex 24)"
  trino_secrets
  mkdir -p "$catalog_volume"
  chown "$POSTGRESQL_UID:$POSTGRESQL_UID" "$catalog_volume"
  chmod 700 "$catalog_volume"
  sed -e "s|@PATH@|$catalog_volume|" -e "s|@SIZE@|1Gi|" k8s/cluster/catalog-volume.yaml | kubectl apply -f - >/dev/null
  mkdir -p "$minio_volume"
  # A cluster made before MinIO had this volume keeps MinIO's data in its pod's emptyDir: carried
  # over once, before the chart moves MinIO here, so that the catalog's files are still found.
  local minio_pod
  minio_pod="$(kubectl get pods -n breweries -l app.kubernetes.io/instance=breweries,app.kubernetes.io/component=minio \
    -o jsonpath='{.items[0].metadata.uid}' 2>/dev/null || true)"
  if [ -z "$(ls -A "$minio_volume")" ] && [ -n "$minio_pod" ] \
    && [ -d "$CLUSTER/kubelet/pods/$minio_pod/volumes/kubernetes.io~empty-dir/data" ]; then
    cp -a "$CLUSTER/kubelet/pods/$minio_pod/volumes/kubernetes.io~empty-dir/data/." "$minio_volume/"
    log "carried MinIO's data over from its emptyDir to $minio_volume"
  fi
  chown "$MINIO_UID:$MINIO_UID" "$minio_volume"
  chmod 700 "$minio_volume"
  sed -e "s|@PATH@|$minio_volume|" -e "s|@SIZE@|5Gi|" k8s/cluster/minio-volume.yaml | kubectl apply -f - >/dev/null

  k8s/tools/load-images.sh "${PROJECT_IMAGES[@]}"
  # The chart, sized for this node. The cluster cannot reach the real API: the chart serves the bundled snapshot in its place.
  log "installing the breweries chart (release breweries, namespace breweries, MinIO, PostgreSQL, Trino, the History Server and the API replay on)"
  "$HELM" upgrade --install breweries helm/breweries --kubeconfig "$KUBECONFIG_FILE" --namespace breweries \
    --values helm/breweries/values-small.yaml --set minio.enabled=true --set apiReplay.enabled=true \
    --set networkPolicy.enabled=true --set workflow.argoUiUrl=https://localhost:2746 \
    --set image.repository="$BREWERIES_IMAGES" --set image.tag="$VERSION" \
    --set minio.image="$(image minio)" --set minio.mcImage="$(image mc)" \
    --set catalog.postgresql.enabled=true --set catalog.postgresql.image="$postgresql_image" \
    --set catalog.postgresql.persistence.storageClassName=breweries-local \
    --set minio.persistence.enabled=true --set minio.persistence.storageClassName=breweries-local \
    --set-string "catalog.postgresql.podAnnotations.breweries\.local/image-id=$(docker image inspect -f '{{.Id}}' "$postgresql_image" | cut -c8-19)" \
    --set trino.enabled=true --set trino.image="$trino_image" --set historyServer.enabled=true \
    --set-string "historyServer.podAnnotations.breweries\.local/image-id=$(docker image inspect -f '{{.Id}}' "$BREWERIES_IMAGES-base:$VERSION" | cut -c8-19)" \
    --set-string "trino.podAnnotations.breweries\.local/image-id=$(docker image inspect -f '{{.Id}}' "$trino_image" | cut -c8-19)" \
    --wait --timeout 5m >/dev/null
  # Who opens the UI (README, "Watch runs in the Argo UI") logs in with this account's token.
  kubectl apply -f k8s/argo-ui-viewer.yaml >/dev/null
}

started=$SECONDS
step 1
preflight
[ "${1:-}" = --preflight ] && exit 0
[ -x "$HELM" ] || die "helm is missing at $HELM: run make cluster-up (it installs helm), or set HELM"
NODE_IP="$(node_ip)"
step 2
project_images
step 3
k8s/tools/build-cluster.sh
step 4
k8s/tools/build-images.sh
step 5
pki
write_configs
control_plane
worker_node
step 6
kubectl apply -f k8s/namespaces.yaml >/dev/null
coredns
network_policies
argo_workflows
spark_operator
kubectl -n kube-system rollout status deployment/coredns --timeout 180s >/dev/null
kubectl -n kube-system rollout status daemonset/kube-network-policies --timeout 180s >/dev/null
kubectl -n argo rollout status deployment/workflow-controller --timeout 180s >/dev/null
kubectl -n argo rollout status deployment/argo-server --timeout 180s >/dev/null
step 7
breweries
step 8
k8s/tools/prometheus.sh
log "ready in $((SECONDS - started))s: export KUBECONFIG=$KUBECONFIG_FILE (kubectl, helm and argo are in $BIN)"
