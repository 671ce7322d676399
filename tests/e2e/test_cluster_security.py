"""The cluster's guard rails, as the API server and the node apply them: the chart's NetworkPolicy,
enforced by kube-network-policies (k8s/cluster/kube-network-policies.yaml), lets pods with the
release's selector labels reach MinIO, the catalog and the API replay, and keeps the namespace's
other pods away from them; the namespace admits only pods of the restricted Pod Security Standard
(k8s/namespaces.yaml), and every pod the chart and a run create is one. `make cluster-up`, then
`make e2e`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from tests.e2e.cluster import NAMESPACE, get_json, helm, kubectl, run, submit, tool, unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "")]

LABELLED, UNLABELLED = "breweries-e2e-netpol-labelled", "breweries-e2e-netpol-unlabelled"
# A TCP connection from inside a probe pod: exits 0 once connected, or fails ("timed out" when the
# packets are dropped, as a NetworkPolicy does).
CONNECT = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3]))"
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def probe_pod(name: str, labels: dict[str, str], image: str) -> dict[str, Any]:
    """A pod that only waits (the chart's base image has python3), restricted like the chart's."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "breweries-e2e", **labels}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 185,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python3", "-c", "import time; time.sleep(3600)"],
                    "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                    "securityContext": {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True},
                }
            ],
        },
    }


def connect(pod: str, service: str, port: int, timeout: float = 5) -> tuple[bool, str]:
    result = kubectl("exec", pod, "--", "python3", "-c", CONNECT, service, str(port), str(timeout),
                     check=False, timeout=60)  # fmt: skip
    return result.returncode == 0, result.stderr.strip()


def service_port(name: str) -> int:
    return get_json("service", name)["spec"]["ports"][0]["port"]


@pytest.fixture(scope="module")
def probes():
    """Two waiting pods in the namespace: one with the release's selector labels (those the chart's
    NetworkPolicy selects its pods by), one without."""
    policies = get_json("networkpolicy", "-l", "app.kubernetes.io/instance=breweries")["items"]
    if not policies:
        pytest.skip("the chart's NetworkPolicy is off (make cluster-up sets networkPolicy.enabled=true)")
    selector = policies[0]["spec"]["podSelector"]["matchLabels"]
    image = json.loads(helm("get", "values", "breweries", "--all", "-o", "json").stdout)["image"]
    base = f"{image['repository']}-base:{image['tag']}"
    pods = {LABELLED: selector, UNLABELLED: {}}
    for name, labels in pods.items():
        kubectl("delete", "pod", name, "--ignore-not-found", "--wait=true", timeout=120)
        kubectl("apply", "-f", "-", stdin=json.dumps(probe_pod(name, labels, base)))
    for name in pods:
        kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=180s", timeout=240)
    yield
    for name in pods:
        kubectl("delete", "pod", name, "--ignore-not-found", "--wait=false")


def test_the_network_policy_enforcer_runs_on_the_node() -> None:
    kube_system = (tool("kubectl"), "-n", "kube-system")
    daemonset = json.loads(
        run(*kube_system, "get", "daemonset", "kube-network-policies", "-o", "json").stdout
    )
    status = daemonset["status"]
    assert status["desiredNumberScheduled"] >= 1 and status["numberReady"] == status["desiredNumberScheduled"]


@pytest.mark.parametrize("service", ["breweries-minio", "breweries-postgresql", "breweries-api-replay"])
def test_a_pod_with_the_releases_labels_reaches(probes, service: str) -> None:
    # The enforcer learns a new pod's address from the API server a moment after the pod starts.
    deadline = time.monotonic() + 30
    while True:
        reached, error = connect(LABELLED, service, service_port(service))
        if reached or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert reached, error


def test_a_pod_without_them_is_cut_off_from_minio_but_not_from_the_network(probes) -> None:
    reached, error = connect(UNLABELLED, "breweries-minio", service_port("breweries-minio"))
    assert not reached and "timed out" in error, error
    # The same pod resolves names and reaches the API server: only the policy stands in its way.
    reached, error = connect(UNLABELLED, "kubernetes.default.svc", 443)
    assert reached, error


def test_the_namespace_enforces_the_restricted_pod_security_standard() -> None:
    labels = get_json("namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.34"
    loose = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "breweries-e2e-loose"},
             "spec": {"containers": [{"name": "main", "image": "localhost/none:0"}]}}  # fmt: skip
    refused = kubectl("apply", "--dry-run=server", "-f", "-", stdin=json.dumps(loose), check=False)
    assert refused.returncode != 0 and 'violates PodSecurity "restricted:v1.34"' in refused.stderr


def test_every_pod_now_in_the_namespace_meets_the_restricted_standard(probes) -> None:
    # The API server checks the namespace's pods against the label and warns of each that fails.
    checked = kubectl("label", "--dry-run=server", "--overwrite", "namespace", NAMESPACE,
                      "pod-security.kubernetes.io/enforce=restricted")  # fmt: skip
    assert "Warning" not in checked.stderr, checked.stderr


def test_a_step_pod_with_argos_own_containers_is_admitted() -> None:
    # The WorkflowTemplate's script step, and its exit handler's container step (cleanup): each pod
    # has Argo's init and wait containers beside the step's own.
    workflow = submit("--from", "workflowtemplate/breweries", "--entrypoint", "dates-between",
                      "-p", "start-date=2026-01-30", "-p", "end-date=2026-02-01")  # fmt: skip
    final = workflow.wait(timeout=600)
    assert final["status"]["phase"] == "Succeeded", final["status"].get("message")
    pods = {n["templateName"]: n["phase"] for n in workflow.nodes() if n["type"] == "Pod"}
    assert pods == {"dates-between": "Succeeded", "cleanup": "Succeeded"}


def test_no_pod_was_refused_by_pod_security() -> None:
    """Whatever ran before in this session (make e2e: the pipeline's runs, Spark drivers and
    executors included): no controller was refused a pod. Events last an hour."""
    refused = [e.get("message", "") for e in get_json("events")["items"]]
    for workflow in get_json("workflows")["items"]:
        refused += [n.get("message", "") for n in workflow.get("status", {}).get("nodes", {}).values()]
    for application in get_json("sparkapplications")["items"]:
        refused.append(application.get("status", {}).get("applicationState", {}).get("errorMessage", ""))
    assert [m for m in refused if "violates PodSecurity" in m] == []
