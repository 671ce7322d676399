#!/usr/bin/env bash
# Smoke tests of the local cluster (make cluster-check), in namespace breweries:
#   1. a pod resolves kubernetes.default.svc.cluster.local through CoreDNS (and no outside name),
#      and reaches the API server through the kubernetes Service with its service account;
#   2. an Argo Workflow with a container step and a resource step (a ConfigMap) Succeeds, through
#      `argo submit --watch`;
#   3. a PySpark SparkApplication (cluster mode, one executor pod) reaches COMPLETED: the operator,
#      its webhook, the executor reaching the driver by its headless Service name, and the Spark
#      image's entrypoint.
# What a passing check made is deleted; what a failing one made stays, for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
source k8s/cluster/lib.sh
export KUBECONFIG="$KUBECONFIG_FILE"
kubectl get --raw /readyz >/dev/null 2>&1 || die "the local cluster does not answer: run make cluster-up"
docker image inspect "$SPARK_STANDIN_IMAGE" >/dev/null 2>&1 \
  || die "the Spark image $SPARK_STANDIN_IMAGE is not in Docker: the project's images build it"

failed=()
pass() { log "PASS: $*"; }
fail() { log "FAIL ($1): $2"; failed+=("$1"); }

# The checks' image: the Spark image plus k8s/check's scripts, tagged by what it is made of.
check_image() {
  local tag old
  tag="$IMAGE_PREFIX/cluster-check:$({ cat k8s/check/Dockerfile k8s/check/*.py
    docker image inspect -f '{{.Id}}' "$SPARK_STANDIN_IMAGE"; } | sha256sum | cut -c1-12)"
  if ! docker image inspect "$tag" >/dev/null 2>&1; then
    # Earlier check images (an older Spark image, older scripts) are ours and of no more use.
    docker images --format '{{.Repository}}:{{.Tag}}' "$IMAGE_PREFIX/cluster-check" | xargs -r docker image rm >/dev/null 2>&1 || true
    for old in $(ctr images ls -q | grep "/cluster-check:"); do ctr images rm "$old" >/dev/null 2>&1 || true; done
    log "building $tag"
    docker build -q --build-arg "SPARK_IMAGE=$SPARK_STANDIN_IMAGE" -t "$tag" k8s/check >"$LOGS/cluster-check-build.log" 2>&1 \
      || die "docker build of $tag failed: $LOGS/cluster-check-build.log"
  fi
  k8s/tools/load-images.sh "$tag" "$(image mc)"
  echo "$tag"
}

render() { sed -e "s|@CHECK_IMAGE@|$CHECK_IMAGE|g" -e "s|@BUSYBOX_IMAGE@|$(image mc)|g" "$1"; }

api_and_dns() {
  local phase="" deadline=$((SECONDS + 180))
  kubectl delete pod -n breweries cluster-check-api-dns --ignore-not-found --wait >/dev/null
  render k8s/check/pod.yaml | kubectl apply -f - >/dev/null
  while [ "$SECONDS" -lt "$deadline" ]; do
    phase="$(kubectl get pod -n breweries cluster-check-api-dns -o jsonpath='{.status.phase}')"
    case "$phase" in Succeeded | Failed) break ;; esac
    sleep 2
  done
  kubectl logs -n breweries cluster-check-api-dns 2>&1 | sed 's/^/    /' >&2 || true
  if [ "$phase" = Succeeded ]; then
    pass "DNS and the API server from a pod"
    kubectl delete pod -n breweries cluster-check-api-dns --wait=false >/dev/null
  else
    fail dns-api "pod cluster-check-api-dns ended ${phase:-unfinished} (kubectl describe pod -n breweries cluster-check-api-dns)"
  fi
}

argo_workflow() {
  local out="$LOGS/cluster-check-argo.log" name phase configmaps
  render k8s/check/workflow.yaml >"$CLUSTER/cluster-check-workflow.yaml"
  "$BIN/argo" submit -n breweries --watch "$CLUSTER/cluster-check-workflow.yaml" >"$out" 2>&1 || true
  name="$(awk '$1 == "Name:" {print $2; exit}' "$out")"
  [ -n "$name" ] || { fail argo "argo submit did not submit the workflow: $out"; return; }
  phase="$("$BIN/argo" get -n breweries "$name" -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"]["phase"])' || true)"
  "$BIN/argo" get -n breweries "$name" --no-color 2>&1 | sed 's/^/    /' >&2 || true
  configmaps="$(kubectl get configmaps -n breweries -o jsonpath="{range .items[?(@.metadata.ownerReferences[0].name==\"$name\")]}{.metadata.name}{end}")"
  if [ "$phase" = Succeeded ] && [ -n "$configmaps" ]; then
    pass "Argo workflow $name (container step, resource step created ConfigMap $configmaps)"
    "$BIN/argo" delete -n breweries "$name" >/dev/null
  else
    fail argo "Argo workflow $name ended ${phase:-unfinished}, ConfigMap: ${configmaps:-none} (full output: $out)"
  fi
}

spark_application() {
  local state="" deadline=$((SECONDS + 900)) executor="" driver_url=""
  kubectl delete sparkapplication -n breweries cluster-check-pi --ignore-not-found --wait >/dev/null
  render k8s/check/sparkapplication.yaml | kubectl apply -f - >/dev/null
  while [ "$SECONDS" -lt "$deadline" ]; do
    state="$(kubectl get sparkapplication -n breweries cluster-check-pi -o jsonpath='{.status.applicationState.state}')"
    case "$state" in COMPLETED | FAILED) break ;; esac
    # Executors are deleted when the driver ends: note how this one was told to reach the driver.
    if [ -z "$driver_url" ]; then
      executor="$(kubectl get pods -n breweries -l spark-role=executor,app.kubernetes.io/part-of=cluster-check -o name 2>/dev/null | head -1)"
      [ -z "$executor" ] || driver_url="$(kubectl get -n breweries "$executor" \
        -o jsonpath='{.spec.containers[0].env[?(@.name=="SPARK_DRIVER_URL")].value}' 2>/dev/null || true)"
    fi
    sleep 3
  done
  log "executor ${executor:-(none seen)} was given driver URL ${driver_url:-(none seen)}"
  kubectl logs -n breweries cluster-check-pi-driver 2>&1 | grep -E 'cluster-check:|Error|Exception' | head -20 | sed 's/^/    /' >&2 || true
  if [ "$state" = COMPLETED ] && [[ "$driver_url" == *.svc:* ]]; then
    pass "SparkApplication cluster-check-pi COMPLETED on executor ${executor#pod/}"
    kubectl delete sparkapplication -n breweries cluster-check-pi --wait=false >/dev/null
  else
    fail spark "SparkApplication cluster-check-pi ended ${state:-unfinished} (kubectl describe sparkapplication -n breweries cluster-check-pi; kubectl logs -n breweries cluster-check-pi-driver)"
  fi
}

kubectl apply -f k8s/check/rbac.yaml >/dev/null
CHECK_IMAGE="$(check_image)"
api_and_dns
argo_workflow
spark_application
if [ ${#failed[@]} -gt 0 ]; then
  die "${#failed[@]} check(s) failed: ${failed[*]}"
fi
kubectl delete -f k8s/check/rbac.yaml --wait=false >/dev/null
log "all checks passed"
