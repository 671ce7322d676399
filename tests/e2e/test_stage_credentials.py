"""A stage's object-store credential gone wrong, on a real cluster (issue 22, "Bad input"): bronze's
Secret lacking a key, and bronze holding a key pair its policy does not let write the bronze bucket.
Either way the workflow fails at bronze, once (a configuration error, exit code 2, is not retried),
says so in one message naming the identity, its Secret and the bucket, in the driver's log and in
the exit handler's single webhook message, and commits nothing for the date.

Bronze is the first stage, so each run takes a couple of minutes. Bronze's Secret is replaced for
the run only, and put back as it was (and checked) however the test ends. While it is replaced, any
other workflow's bronze on this cluster fails too: run this module when no other run is under way.
`make cluster-up`, then `make e2e`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.e2e import test_cluster_run as cluster_run
from tests.e2e.cluster import (
    FINAL,
    Workflow,
    argo,
    component,
    get_json,
    helm,
    kubectl,
    secret_values,
    state,
    submit,
    unavailable,
)
from tests.s3_server import S3Server

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "")]

# The e2e fixtures applied and the chart pointed at its API replay, with failures posted to the
# sink: test_cluster_run's own fixtures.
cluster = cluster_run.cluster
minio = cluster_run.minio

# Dates no other end-to-end test runs: nothing may exist for them before, or after.
MISSING_KEY_DATE, DENIED_WRITE_DATE = "2026-07-21", "2026-07-22"
# A run that fails at bronze takes about two minutes here; a pod that never starts must not hang us.
WORKFLOW_TIMEOUT = 900


def values() -> dict[str, Any]:
    return json.loads(helm("get", "values", "breweries", "--all", "-o", "json").stdout)


def identity_secret(identity: str) -> str:
    return values()["secrets"]["s3Credentials"]["identitySecretName"] % identity


def keys(identity: str) -> dict[str, str]:
    """The identity's key pair, from its Secret."""
    return secret_values(identity_secret(identity))


def release_revision() -> int:
    return int(json.loads(helm("list", "--filter", "^breweries$", "-o", "json").stdout)[0]["revision"])


def _manifest(secret: dict[str, Any]) -> dict[str, Any]:
    """What a Secret is, without what the API server adds: what `kubectl replace` puts back."""
    metadata = {
        key: secret["metadata"][key]
        for key in ("name", "namespace", "labels", "annotations")
        if key in secret["metadata"]
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": secret.get("type", "Opaque"),
        "data": secret.get("data", {}),
    }


def _replace(manifest: dict[str, Any]) -> None:
    for attempt in range(3):  # the API server of a loaded machine may time out once
        result = kubectl("replace", "-f", "-", stdin=json.dumps(manifest), check=False)
        if result.returncode == 0:
            return
        time.sleep(2 * (attempt + 1))
    raise AssertionError(f"kubectl replace secret {manifest['metadata']['name']}: {result.stderr[-2000:]}")


@contextlib.contextmanager
def secret_replaced(name: str, data: dict[str, str], backup: Path) -> Iterator[None]:
    """Secret ``name`` holding ``data`` only, then exactly what it held before, however this ends.

    The original is also written to ``backup`` (named when putting it back fails). While replaced,
    a `helm upgrade` would rerun MinIO's set-up Job with the replaced keys: refused below.
    """
    original = _manifest(get_json("secret", name))
    backup.write_text(json.dumps(original))
    revision = release_revision()
    replacement = {**original, "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
    _replace(replacement)
    try:
        yield
    finally:
        try:
            _replace(original)
        except AssertionError as error:
            lost = f"Secret {name} is NOT restored: its original is in {backup}"
            raise AssertionError(f"{error}\n{lost}") from error
        restored = _manifest(get_json("secret", name))
        assert restored == original, f"Secret {name} differs from its original, saved in {backup}"
        assert release_revision() == revision, (
            f"the release was upgraded while Secret {name} was replaced: MinIO's set-up Job may have "
            "attached another identity's policy to a user (`mc admin policy entities`), check it"
        )


def stop_if_running(workflow: Workflow) -> None:
    """A workflow that did not end in time (a pod that never starts) is stopped, not left hanging."""
    if workflow.phase in FINAL:
        return
    argo("stop", workflow.name, check=False)
    with contextlib.suppress(AssertionError):
        workflow.wait(timeout=300)


def date_objects(minio: S3Server, run_date: str) -> list[str]:
    """Every object for ``run_date`` in the chart's buckets: state records, bronze's crawl, tables."""
    found = []
    for bucket in values()["storage"]["buckets"].values():
        found += [f"{bucket}/{key}" for key in minio.keys(bucket) if f"_date={run_date}" in key]
    return found


def driver_log(application: dict[str, Any]) -> list[dict[str, Any]]:
    pod = application["status"]["driverInfo"]["podName"]
    lines = kubectl("logs", pod, "--tail=-1").stdout.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def exit_code(application: dict[str, Any]) -> int | None:
    pod = get_json("pod", application["status"]["driverInfo"]["podName"])
    for status in pod.get("status", {}).get("containerStatuses", []):
        if status["name"] == "spark-kubernetes-driver" and "terminated" in status.get("state", {}):
            return int(status["state"]["terminated"]["exitCode"])
    return None


@dataclass
class Case:
    run_date: str
    # Bronze's Secret's data for the run, from every identity's keys (name: key -> value).
    secret: Callable[[Callable[[str], dict[str, str]]], dict[str, str]]
    # The one error message, as a pattern, from the same keys.
    message: Callable[[Callable[[str], dict[str, str]]], str]
    # What the webhook's text must name, from the same keys.
    naming: Callable[[Callable[[str], dict[str, str]]], list[str]]


CASES = {
    # AWS_SECRET_ACCESS_KEY missing: the chart's secretKeyRef is optional, so the driver starts and
    # says which key of which Secret is missing (breweries.settings.Settings.require_s3_credentials).
    "secret-missing-a-key": Case(
        run_date=MISSING_KEY_DATE,
        secret=lambda keys: {"AWS_ACCESS_KEY_ID": keys("bronze")["AWS_ACCESS_KEY_ID"]},
        message=lambda keys: re.escape(
            f"AWS_SECRET_ACCESS_KEY is not set: Secret {identity_secret('bronze')}, identity bronze's "
            "object-store credential, is missing or lacks the key"
        ),
        naming=lambda keys: [identity_secret("bronze"), "AWS_SECRET_ACCESS_KEY"],
    ),
    # The silver stage's valid key pair: MinIO's policy lets it read the state records (bronze's
    # "done already?") and bronze's crawls (bronze's "is the date's crawl there?"), but not write
    # them, which bronze needs. (The gold stage's pair is denied earlier, at that read: `may not
    # check s3a://breweries-bronze/...`.)
    "policy-denies-a-write": Case(
        run_date=DENIED_WRITE_DATE,
        secret=lambda keys: keys("silver"),
        message=lambda keys: (
            re.escape(
                f"access denied: identity bronze (access key {keys('silver')['AWS_ACCESS_KEY_ID']}, "
                f"Secret {identity_secret('bronze')}) may not "
            )
            # The first call bronze makes that its policy denies this key: a write, or the
            # listing of unfinished uploads it does before writing.
            + r"[a-z ]+ "
            + re.escape(f"s3a://{values()['storage']['buckets']['bronze']}/")
            + r"\S* "
            + re.escape(f"(bucket {values()['storage']['buckets']['bronze']})")
        ),
        naming=lambda keys: [
            "identity bronze",
            identity_secret("bronze"),
            f"bucket {values()['storage']['buckets']['bronze']}",
        ],
    ),
}


@dataclass
class Outcome:
    case: Case
    workflow: Workflow
    ended: dict[str, Any]
    applications: list[dict[str, Any]]
    messages: list[dict[str, Any]]  # the webhook's, for this workflow
    before: list[str]  # the date's objects before the run
    after: list[str]  # and after
    keys: Callable[[str], dict[str, str]]


@pytest.fixture(scope="module", params=list(CASES))
def bad_credential_run(request, cluster, minio, tmp_path_factory) -> Outcome:
    """A run of the case's date with bronze's Secret replaced for it, the Secret restored after."""
    case = CASES[request.param]
    before = date_objects(minio, case.run_date)
    backup = tmp_path_factory.mktemp("secrets") / f"{identity_secret('bronze')}.json"
    with secret_replaced(identity_secret("bronze"), case.secret(keys), backup):
        workflow = submit("--from", "workflowtemplate/breweries", "-p", f"run-date={case.run_date}")
        try:
            ended = workflow.wait(timeout=WORKFLOW_TIMEOUT)
        finally:
            stop_if_running(workflow)
    messages = [m for m in cluster_run.webhook_messages() if m.get("workflow") == workflow.name]
    return Outcome(
        case, workflow, ended, workflow.spark_applications(), messages, before,
        date_objects(minio, case.run_date), keys,
    )  # fmt: skip


def test_the_workflow_fails_at_bronze_once_with_exit_code_2_and_no_retry(bad_credential_run) -> None:
    run = bad_credential_run
    assert run.ended["status"]["phase"] == "Failed", run.ended["status"].get("message")
    # One application, bronze's, failed and marked not retryable; nothing after it ran.
    assert [component(a) for a in run.applications] == ["bronze"]
    [bronze] = run.applications
    assert state(bronze) == "FAILED"
    assert bronze["metadata"]["labels"].get("breweries/retryable") == "false"
    assert exit_code(bronze) == 2  # breweries.errors: a configuration error
    attempts = cluster_run.stage_nodes(run.workflow, "bronze")
    assert len(attempts) == 1 and attempts[0]["phase"] == "Failed", attempts
    stages = {n.get("templateName") for n in run.workflow.nodes() if n["type"] == "Pod"}
    assert stages <= {"bronze", "notify-failure", "cleanup"}, stages


def test_the_driver_logs_one_error_naming_the_identity_secret_and_bucket(bad_credential_run) -> None:
    run = bad_credential_run
    [bronze] = run.applications
    errors = [e["message"] for e in driver_log(bronze) if e.get("level") == "error"]
    assert len(errors) == 1, errors
    assert re.search(run.case.message(run.keys), errors[0]), errors[0]
    # The identity's secret key is never in the log.
    secret_key = run.keys("bronze")["AWS_SECRET_ACCESS_KEY"]
    assert secret_key not in json.dumps(driver_log(bronze))


def test_nothing_is_committed_for_the_date(bad_credential_run) -> None:
    run = bad_credential_run
    assert run.before == [], f"the date {run.case.run_date} was not fresh: {run.before[:5]}"
    assert run.after == [], run.after[:20]


def test_the_exit_handler_sends_one_webhook_message_for_bronze(bad_credential_run) -> None:
    run = bad_credential_run
    assert len(run.messages) == 1, run.messages
    [message] = run.messages
    assert message["run_date"] == run.case.run_date and message["stage"] == "bronze"
    assert message["status"] == "failed" and message["workflow_status"] == "Failed"


def test_the_webhook_message_names_the_identity_secret_and_bucket(bad_credential_run) -> None:
    run = bad_credential_run
    [message] = run.messages
    missing = [name for name in run.case.naming(run.keys) if name not in message["text"]]
    assert not missing, f"the message does not name {missing}: {message['text']}"
