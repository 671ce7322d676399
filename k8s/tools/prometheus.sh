#!/usr/bin/env bash
# Prometheus on the local cluster, in namespace monitoring (make prometheus; make cluster-up runs it
# last): built from source once (k8s/tools/build-prometheus.sh), its image built and loaded into
# the cluster, then k8s/cluster/prometheus.yaml applied with the alert rules of
# helm/breweries/files/alerts as ConfigMap prometheus-rules. Idempotent: a changed image,
# configuration or rule rolls its pod. README.md#metrics says how to reach it.
set -euo pipefail
cd "$(dirname "$0")/../.."
source k8s/cluster/lib.sh

[ -f "$KUBECONFIG_FILE" ] || die "no local cluster (no $KUBECONFIG_FILE): run make cluster-up"
k8s/tools/build-prometheus.sh
rules=(helm/breweries/files/alerts/*.rules.yaml)
# Rules Prometheus would refuse stop it from starting: refused here instead, saying why.
"$BIN/promtool" check rules "${rules[@]}" >/dev/null || die "promtool check rules refused ${rules[*]} (see above)"
k8s/tools/build-images.sh prometheus
k8s/tools/load-images.sh "$(image prometheus)"

log "deploying Prometheus (namespace monitoring)"
hash="$(cat k8s/cluster/prometheus.yaml "${rules[@]}" | sha256sum | cut -c1-12)"
rules_configmap="$(kubectl create configmap prometheus-rules -n monitoring "${rules[@]/#/--from-file=}" \
  --dry-run=client -o yaml | kubectl label --local -f - -o yaml app.kubernetes.io/name=prometheus app.kubernetes.io/part-of=breweries)"
{ sed -e "s|@IMAGE@|$(image prometheus)|" -e "s|@IMAGE_ID@|$(image_id prometheus)|" -e "s|@CONFIG_HASH@|$hash|" \
    k8s/cluster/prometheus.yaml; echo ---; echo "$rules_configmap"; } | kubectl apply -f - >/dev/null
kubectl -n monitoring rollout status deployment/prometheus --timeout 180s >/dev/null \
  || die "Prometheus did not become ready in 180 s: kubectl -n monitoring logs deployment/prometheus"
log "Prometheus is ready: kubectl -n monitoring port-forward service/prometheus 9090, then http://localhost:9090"
