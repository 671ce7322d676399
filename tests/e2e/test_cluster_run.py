"""End to end on a real cluster: submit the WorkflowTemplate, wait for Succeeded, read gold from MinIO.

Runs only when told which cluster to use, so that `make test` never touches a cluster by accident:

    make cluster-up-kind && make images-kind                  # once: kind, Argo, Spark Operator, chart
    kubectl -n breweries port-forward svc/breweries-minio 9000 &
    BREWERIES_E2E_CONTEXT=kind-breweries make test

Needs the cluster to reach api.openbrewerydb.org. Optional: BREWERIES_E2E_NAMESPACE (breweries),
BREWERIES_E2E_S3_ENDPOINT (http://127.0.0.1:9000), BREWERIES_E2E_TIMEOUT_SECONDS (1800).
"""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import date
from pathlib import Path

import pytest

# Read at import: the suite's autouse fixture clears BREWERIES_* variables while tests run.
CONTEXT = os.environ.get("BREWERIES_E2E_CONTEXT", "")
NAMESPACE = os.environ.get("BREWERIES_E2E_NAMESPACE", "breweries")
S3_ENDPOINT = os.environ.get("BREWERIES_E2E_S3_ENDPOINT", "http://127.0.0.1:9000")
TIMEOUT_SECONDS = float(os.environ.get("BREWERIES_E2E_TIMEOUT_SECONDS", "1800"))
ARGO = ("argoproj.io", "v1alpha1")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CONTEXT,
        reason="no cluster configured: set BREWERIES_E2E_CONTEXT to a kube context with the chart "
        "installed (see tests/e2e/test_cluster_run.py)",
    ),
]


@pytest.fixture(scope="module")
def kube():
    from kubernetes import client, config

    config.load_kube_config(context=CONTEXT)
    return client


def test_the_workflow_template_runs_every_stage_and_gold_lands_in_minio(kube, spark, tmp_path: Path) -> None:
    import boto3

    objects = kube.CustomObjectsApi()
    objects.get_namespaced_custom_object(*ARGO, NAMESPACE, "workflowtemplates", "breweries")
    run_date = date.today().isoformat()
    workflow = objects.create_namespaced_custom_object(
        *ARGO, NAMESPACE, "workflows",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"generateName": "breweries-e2e-"},
            "spec": {
                "workflowTemplateRef": {"name": "breweries"},
                "arguments": {"parameters": [{"name": "run-date", "value": run_date},
                                             {"name": "force", "value": "true"}]},
            },
        },
    )  # fmt: skip
    name = workflow["metadata"]["name"]
    phase, deadline = "", time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        status = objects.get_namespaced_custom_object(*ARGO, NAMESPACE, "workflows", name).get("status", {})
        phase = status.get("phase", "")
        if phase in ("Succeeded", "Failed", "Error"):
            break
        time.sleep(10)
    assert phase == "Succeeded", f"workflow {name} ended {phase or 'unfinished'}: {status.get('message')}"

    secret = kube.CoreV1Api().read_namespaced_secret("breweries-s3", NAMESPACE).data
    s3 = boto3.client(
        "s3",
        endpoint_url=S3_ENDPOINT,
        aws_access_key_id=base64.b64decode(secret["AWS_ACCESS_KEY_ID"]).decode(),
        aws_secret_access_key=base64.b64decode(secret["AWS_SECRET_ACCESS_KEY"]).decode(),
        region_name="us-east-1",
    )
    silver_run = json.loads(
        s3.get_object(Bucket="breweries-state", Key=f"_state/silver/run_date={run_date}.json")["Body"].read()
    )
    prefix = f"breweries_by_type_location/snapshot_date={run_date}/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="breweries-gold", Prefix=prefix).get("Contents", [])]
    parquet = [k for k in keys if k.endswith(".parquet")]
    assert parquet, f"no gold Parquet under s3://breweries-gold/{prefix}"
    for key in parquet:
        target = tmp_path / key
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file("breweries-gold", key, str(target))
    gold = spark.read.option("basePath", str(tmp_path / prefix)).parquet(str(tmp_path / prefix))
    total = gold.agg({"brewery_count": "sum"}).first()[0]
    # Every silver brewery is counted once in gold.
    assert total == silver_run["rows_out"] > 0
