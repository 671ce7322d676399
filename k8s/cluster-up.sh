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

preflight() {
  [ "$(id -u)" = 0 ] || die "the local cluster runs containerd, the kubelet and iptables: run it as root (or use make cluster-up-kind)"
  local tool
  for tool in go docker containerd containerd-shim-runc-v2 runc ctr iptables ip6tables ip openssl python3 curl apt-get mount; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH (containerd, runc: apt-get install containerd runc; Go 1.24+ for the builds)"
  done
  [ -x "$HELM" ] || die "helm is missing at $HELM: run make cluster-up (it installs helm), or set HELM"
  docker info >/dev/null 2>&1 || die "the Docker engine does not answer: start dockerd (it builds the cluster's images)"
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

  # The project's images (make images, cached), named under localhost/ so that a missing one fails
  # at once instead of sending the kubelet to a registry; then the chart, sized for this node.
  local version stage images=()
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)"
  VERSION="$version" IMAGE_REPOSITORY="$BREWERIES_IMAGES" STAGES="${STAGES:?the Makefile passes STAGES}" \
    images/build.sh
  images+=("$BREWERIES_IMAGES-base:$version")
  for stage in $STAGES; do images+=("$BREWERIES_IMAGES-${stage//_/-}:$version"); done
  local postgresql_image
  postgresql_image="$(images/postgres/build.sh)"
  images+=("$postgresql_image")
  local trino_image
  trino_image="$(images/trino/build.sh)"
  images+=("$trino_image")
  k8s/tools/load-images.sh "${images[@]}"
  # The cluster cannot reach the real API: the chart serves the bundled snapshot in its place.
  log "installing the breweries chart (release breweries, namespace breweries, MinIO, PostgreSQL, Trino and the API replay on)"
  "$HELM" upgrade --install breweries helm/breweries --kubeconfig "$KUBECONFIG_FILE" --namespace breweries \
    --values helm/breweries/values-small.yaml --set minio.enabled=true --set apiReplay.enabled=true \
    --set networkPolicy.enabled=true \
    --set image.repository="$BREWERIES_IMAGES" --set image.tag="$version" \
    --set minio.image="$(image minio)" --set minio.mcImage="$(image mc)" \
    --set catalog.postgresql.enabled=true --set catalog.postgresql.image="$postgresql_image" \
    --set catalog.postgresql.persistence.storageClassName=breweries-local \
    --set-string "catalog.postgresql.podAnnotations.breweries\.local/image-id=$(docker image inspect -f '{{.Id}}' "$postgresql_image" | cut -c8-19)" \
    --set trino.enabled=true --set trino.image="$trino_image" \
    --set-string "trino.podAnnotations.breweries\.local/image-id=$(docker image inspect -f '{{.Id}}' "$trino_image" | cut -c8-19)" \
    --wait --timeout 5m >/dev/null
}

started=$SECONDS
preflight
NODE_IP="$(node_ip)"
log "building what is not built yet (the first time takes long: see k8s/README.md)"
k8s/tools/build-cluster.sh
k8s/tools/build-images.sh
pki
write_configs
control_plane
worker_node
log "installing CoreDNS, Argo Workflows $ARGO_WORKFLOWS_VERSION and the Spark Operator $SPARK_OPERATOR_VERSION"
kubectl apply -f k8s/namespaces.yaml >/dev/null
coredns
network_policies
argo_workflows
spark_operator
kubectl -n kube-system rollout status deployment/coredns --timeout 180s >/dev/null
kubectl -n kube-system rollout status daemonset/kube-network-policies --timeout 180s >/dev/null
kubectl -n argo rollout status deployment/workflow-controller --timeout 180s >/dev/null
kubectl -n argo rollout status deployment/argo-server --timeout 180s >/dev/null
breweries
log "ready in $((SECONDS - started))s: export KUBECONFIG=$KUBECONFIG_FILE (kubectl, helm and argo are in $BIN)"
