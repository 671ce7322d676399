#!/usr/bin/env bash
# The kind route, for machines that can pull images (make cluster-up-kind): a kind cluster, Argo
# Workflows and the Spark Operator (official charts, pinned in versions.env), the namespaces, trial
# Secrets and the chart with its MinIO. Needs docker, kind, kubectl and helm on PATH. Idempotent:
# rerun to repair. Without a registry, make cluster-up builds a cluster here instead (k8s/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
source <(sed 's/#.*//' k8s/versions.env)

cluster="${KIND_CLUSTER:-breweries}"
helm="${HELM:-helm}"
for tool in docker kind kubectl "$helm"; do
  command -v "$tool" >/dev/null || { echo "cluster-up: $tool is not on PATH" >&2; exit 1; }
done

if ! kind get clusters | grep -qx "$cluster"; then
  kind create cluster --name "$cluster" --config k8s/kind-cluster.yaml --wait 120s
fi
kubectl config use-context "kind-$cluster"
kubectl apply -f k8s/namespaces.yaml

"$helm" repo add argo https://argoproj.github.io/argo-helm --force-update >/dev/null
"$helm" repo add spark-operator https://kubeflow.github.io/spark-operator --force-update >/dev/null
"$helm" upgrade --install argo-workflows argo/argo-workflows \
  --version "$ARGO_WORKFLOWS_CHART_VERSION" --namespace argo \
  --set images.tag="$ARGO_WORKFLOWS_KIND_VERSION" \
  --set "server.authModes={server}" \
  --wait
# Chart 2.0.1 is the newest argo-helm release and ships v4.1.0 (its appVersion and CRDs): the
# images are set to v4.1.2 above, and its CRDs come from the copy the chart is validated against.
for crd in tests/schemas/argo-workflows-v4.1.2/*.yaml.gz; do
  gunzip -c "$crd" | kubectl apply --server-side --force-conflicts -f - >/dev/null
done
"$helm" upgrade --install spark-operator spark-operator/spark-operator \
  --version "$SPARK_OPERATOR_CHART_VERSION" --namespace spark-operator \
  --set "spark.jobNamespaces={breweries}" \
  --set spark.serviceAccount.create=false \
  --set webhook.enable=true \
  --wait

# Trial Secrets, generated here and never written to disk: MinIO's root user, and a key pair per
# object-store identity, which the chart's set-up Job makes a MinIO user with its own policy. For
# real storage, create these from your own secret store instead.
secret() { # name, then key=value pairs
  local name="$1"; shift
  if ! kubectl get secret -n breweries "$name" >/dev/null 2>&1; then
    kubectl create secret generic -n breweries "$name" "${@/#/--from-literal=}" >/dev/null
    echo "created Secret breweries/$name"
  fi
}
secret breweries-s3 "AWS_ACCESS_KEY_ID=breweries" "AWS_SECRET_ACCESS_KEY=$(openssl rand -hex 24)"
identities="$("${PYTHON:-.venv/bin/python}" -m breweries.cli access-policies --list)"
for identity in $identities; do
  secret "breweries-s3-$identity" "AWS_ACCESS_KEY_ID=breweries-$identity" "AWS_SECRET_ACCESS_KEY=$(openssl rand -hex 24)"
done
secret breweries-pseudonymization "key=$(openssl rand -hex 32)"
# The tables' catalog: the chart's PostgreSQL (the official postgres image, its data on kind's
# default StorageClass) makes its superuser from this Secret on first start.
secret breweries-catalog "username=breweries" "password=$(openssl rand -hex 24)"

"$helm" upgrade --install breweries helm/breweries --namespace breweries \
  --set minio.enabled=true --set catalog.postgresql.enabled=true \
  --set image.tag="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)" \
  --wait
echo "ready: argo submit -n breweries --from workflowtemplate/breweries -p run-date=$(date -u +%F) --watch"
