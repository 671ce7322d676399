"""Least privilege on the cluster's MinIO, from a pod: the users the chart's set-up Job made from
each identity's Secret (helm/breweries/files/minio-setup.sh, policies from `breweries
access-policies`) are allowed their own work and denied the rest. `make cluster-up`, then `make e2e`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.e2e.cluster import get_json, helm, kubectl, unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "")]

POD = "breweries-e2e-access-probe"
# Each attempt's outcome: "allowed", or the store's error code (AccessDenied).
PROBE = """
import json, os
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

def client(identity):
    return boto3.client(
        "s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
        aws_access_key_id=os.environ[identity + "_KEY_ID"],
        aws_secret_access_key=os.environ[identity + "_KEY"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )

def attempt(call):
    try:
        call()
        return "allowed"
    except ClientError as error:
        return error.response["Error"]["Code"]

gold, analyst = client("GOLD"), client("ANALYST")
b = json.loads(os.environ["BUCKETS"])
print(json.dumps({
    "gold lists bronze": attempt(lambda: gold.list_objects_v2(Bucket=b["bronze"], Prefix="breweries/")),
    "gold reads a bronze manifest": attempt(
        lambda: gold.get_object(Bucket=b["bronze"], Key="breweries/ingest_date=2026-06-01/_manifest.json")),
    "gold lists gold": attempt(
        lambda: gold.list_objects_v2(Bucket=b["gold"], Prefix="breweries_by_type_location/")),
    "analyst lists silver": attempt(lambda: analyst.list_objects_v2(Bucket=b["silver"])),
    "analyst lists silver's table": attempt(
        lambda: analyst.list_objects_v2(Bucket=b["silver"], Prefix="breweries/")),
    "analyst lists gold": attempt(
        lambda: analyst.list_objects_v2(Bucket=b["gold"], Prefix="breweries_by_type_location/")),
    "analyst writes gold": attempt(
        lambda: analyst.put_object(Bucket=b["gold"], Key="breweries_by_type_location/x", Body=b"")),
}))
"""


def probe_pod(image: str, labels: dict[str, str], buckets: dict[str, str], endpoint: str) -> dict[str, Any]:
    """A pod with the release's labels (the NetworkPolicy lets it reach MinIO), restricted like the
    chart's, holding the gold and analyst identities' keys from their Secrets."""
    keys = [
        {"name": f"{identity.upper()}_{name}",
         "valueFrom": {"secretKeyRef": {"name": f"breweries-s3-{identity}", "key": key}}}
        for identity in ("gold", "analyst")
        for name, key in (("KEY_ID", "AWS_ACCESS_KEY_ID"), ("KEY", "AWS_SECRET_ACCESS_KEY"))
    ]  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": POD, "labels": {"app.kubernetes.io/part-of": "breweries-e2e", **labels}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
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
                    "command": ["python3", "-c", PROBE],
                    "env": [
                        *keys,
                        {"name": "S3_ENDPOINT", "value": endpoint},
                        {"name": "BUCKETS", "value": json.dumps(buckets)},
                    ],
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "64Mi"},
                        "limits": {"memory": "192Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "readOnlyRootFilesystem": True,
                    },
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def outcomes() -> dict[str, str]:
    values = json.loads(helm("get", "values", "breweries", "--all", "-o", "json").stdout)
    if not values["minio"]["enabled"]:
        pytest.skip("the chart's MinIO is off: its users are what this test checks")
    image = values["image"]
    labels = {"app.kubernetes.io/name": "breweries", "app.kubernetes.io/instance": "breweries"}
    pod = probe_pod(f"{image['repository']}-base:{image['tag']}", labels, values["storage"]["buckets"],
                    "http://breweries-minio:9000")  # fmt: skip
    kubectl("delete", "pod", POD, "--ignore-not-found", "--wait=true", timeout=120)
    kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    try:
        kubectl(
            "wait", "--for=jsonpath={.status.phase}=Succeeded", f"pod/{POD}", "--timeout=180s", timeout=240
        )
        return json.loads(kubectl("logs", POD).stdout.strip().splitlines()[-1])
    finally:
        kubectl("delete", "pod", POD, "--ignore-not-found", "--wait=false")


def test_the_gold_stages_key_is_denied_raw_bronze_and_allowed_gold(outcomes) -> None:
    assert outcomes["gold lists bronze"] == "AccessDenied"
    assert outcomes["gold reads a bronze manifest"] == "AccessDenied"
    assert outcomes["gold lists gold"] == "allowed"


def test_the_analysts_key_cannot_list_raw_silver_and_reads_gold_only(outcomes) -> None:
    assert outcomes["analyst lists silver"] == "AccessDenied"
    assert outcomes["analyst lists silver's table"] == "AccessDenied"
    assert outcomes["analyst lists gold"] == "allowed"
    assert outcomes["analyst writes gold"] == "AccessDenied"


def test_no_stage_runs_with_minios_root_key() -> None:
    template = get_json("workflowtemplate", "breweries")
    assert '"name": "breweries-s3"' not in json.dumps(template)
    assert "breweries-s3-gold" in json.dumps(template)
