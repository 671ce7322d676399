"""Failure notifications: one JSON body that Slack reads (``text``) and machines parse (the rest).

A webhook that is down is logged and otherwise ignored: it must never hide or replace the
pipeline's own error. The URL itself is a secret (Slack puts the token in the path), so it is never
logged, and neither are request exceptions, whose text quotes it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import requests

from breweries.layout import Layout
from breweries.logs import get_logger
from breweries.pipeline import STAGES
from breweries.quality import QualityReport, read_report
from breweries.settings import Settings, env_name


def failure_message(
    *,
    run_date: str,
    stage: str,
    error: str,
    workflow: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    where = f"workflow {workflow}, " if workflow else ""
    text = f":x: breweries pipeline failed ({where}run date {run_date}) at stage *{stage}*: {error}"
    message: dict[str, Any] = {
        "text": text,
        "status": "failed",
        "run_date": run_date,
        "stage": stage,
        "error": error,
    }
    if workflow:
        message["workflow"] = workflow
    if details:
        message.update(details)
    return message


def parse_workflow_failures(raw: str) -> list[dict[str, Any]]:
    """Argo's ``{{workflow.failures}}``: a JSON list, sometimes quoted once more; never raises.

    Text that is not such a list is kept as one failure's message rather than lost.
    """
    value: Any = raw.strip()
    for _ in range(2):  # Argo inserts the list as a quoted string: unquote at most once
        if not isinstance(value, str) or not value:
            break
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            break
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    return [{"message": str(value)}] if value else []


# The WorkflowTemplate names each stage's template after its component (silver-anonymized).
STAGE_OF_TEMPLATE = {stage.component: stage.name for stage in STAGES}


def failed_step(failures: list[dict[str, Any]]) -> dict[str, Any]:
    """The failure that says what went wrong: the last attempt of a stage's step.

    Argo lists every failed node, the workflow's own step groups and ``pipeline`` included, in no
    useful order; a stage's attempt (``quality(0)``) is the one that carries the pod's message.
    """
    steps = [f for f in failures if f.get("templateName") in STAGE_OF_TEMPLATE]
    attempts = [f for f in steps if f.get("displayName") != f.get("templateName")] or steps
    if attempts:
        return max(attempts, key=lambda f: str(f.get("finishedAt") or ""))
    return failures[0] if failures else {}


def workflow_failure_message(
    *,
    workflow: str,
    status: str,
    run_date: str,
    failures: list[dict[str, Any]],
    link: str | None = None,
    quality: tuple[QualityReport, str] | None = None,
) -> dict[str, Any]:
    """The exit handler's message: the failed stage's step names the stage; every failure is listed.

    ``quality`` is the failed gate's report and where it lives, when the quality step failed.
    """
    failed = failed_step(failures)
    template = str(failed.get("templateName") or "")
    stage = STAGE_OF_TEMPLATE.get(template) or template or str(failed.get("displayName") or "unknown")
    error = str(failed.get("message") or f"workflow {status}")
    details: dict[str, Any] = {"workflow_status": status, "failures": failures}
    if link:
        details["link"] = link
    message = failure_message(run_date=run_date, stage=stage, error=error, workflow=workflow, details=details)
    if quality is not None:
        report, report_uri = quality
        message.update(report.failure_details(report_uri))
        message["text"] += f"; failed checks: {report.failed_errors_text()}; report: {report_uri}"
    if link:
        message["text"] += f" <{link}|open in Argo>"
    return message


def post_webhook(
    url: str,
    message: dict[str, Any],
    *,
    timeout_seconds: float = 10.0,
    attempts: int = 3,
    backoff_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST ``message`` as JSON; True when the webhook answered 2xx. Never raises."""
    log = get_logger(stage=message.get("stage", "notify"), run_date=message.get("run_date"))
    cause = ""
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(url, json=message, timeout=timeout_seconds)
            if 200 <= response.status_code < 300:
                log.info("failure notification sent", extra={"attempt": attempt})
                return True
            cause = f"HTTP {response.status_code}"
            if 400 <= response.status_code < 500 and response.status_code != 429:
                break  # the webhook rejects this message; asking again will not change that
        except requests.RequestException as exc:
            cause = type(exc).__name__
        if attempt < attempts:
            sleep(backoff_seconds * 2 ** (attempt - 1))
    log.error(f"could not notify the webhook: {cause}", extra={"attempts": attempt})
    return False


def notify_workflow_outcome(
    settings: Settings, *, status: str, workflow: str, run_date: str, failures: str, link: str | None
) -> None:
    """The workflow's exit handler: post a workflow that did not succeed to the webhook.

    Never raises: the workflow's outcome is its own, whatever happens to the notification.
    """
    log = get_logger(stage="notify", run_date=run_date, workflow=workflow)
    if status == "Succeeded":
        log.info("workflow succeeded: nothing to notify")
        return
    parsed = parse_workflow_failures(failures)
    log.error(f"workflow {status}", extra={"failures": parsed})
    if not settings.webhook_url:
        log.warning(f"no webhook configured ({env_name('webhook_url')} is empty): failure not sent")
        return
    quality_failed = any(f.get("templateName") == "quality" for f in parsed)
    message = workflow_failure_message(
        workflow=workflow,
        status=status,
        run_date=run_date,
        failures=parsed,
        link=link,
        quality=_failed_gate(settings, run_date) if quality_failed else None,
    )
    post_webhook(settings.webhook_url, message)


def _failed_gate(settings: Settings, run_date: str) -> tuple[QualityReport, str] | None:
    """The gate's report when it failed; None when it passed or cannot be read (the message goes out)."""
    log = get_logger(stage="notify", run_date=run_date)
    try:
        found = read_report(settings.open_store(), Layout(settings), date.fromisoformat(run_date))
    except Exception as exc:
        log.warning(f"could not read the quality report: {type(exc).__name__}: {exc}")
        return None
    if found is None:
        log.warning(f"could not read the quality report: none for {run_date}")
        return None
    return found if not found[0].passed else None
