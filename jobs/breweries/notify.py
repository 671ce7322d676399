"""Failure notifications: one JSON body that Slack reads (``text``) and machines parse (the rest).

A webhook that is down is logged and otherwise ignored: it must never hide or replace the
pipeline's own error. The URL itself is a secret (Slack puts the token in the path), so it is never
logged, and neither are request exceptions, whose text quotes it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import requests

from breweries.cluster import driver_error, in_cluster, workflow_applications
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


# What separates a backfill's first and last date in its exit handler's run date (argo/backfill.yaml).
RANGE = ".."
# A step Argo expanded over a list (withParam) is named `step(index:item)`: a backfill's step for
# one date is `run-date(2:2026-01-03)`.
_ITEM_DATE = re.compile(r"\(\d+:(\d{4}-\d{2}-\d{2})\)$")


def run_dates(run_date: str) -> list[date]:
    """The dates a workflow ran for: one ``YYYY-MM-DD``, or every date of ``START..END`` (both
    included), as a backfill passes them; empty when ``run_date`` is neither."""
    first, separator, last = run_date.strip().partition(RANGE)
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if separator else start
    except ValueError:
        return []
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def failed_dates(failures: list[dict[str, Any]], dates: Sequence[date]) -> list[date]:
    """The dates among ``dates`` whose step of a backfill failed, as Argo's failure list names them."""
    named: set[date] = set()
    for failure in failures:
        match = _ITEM_DATE.search(str(failure.get("displayName") or ""))
        if match:
            try:
                named.add(date.fromisoformat(match.group(1)))
            except ValueError:
                continue
    return sorted(named.intersection(dates))


def workflow_failure_message(
    *,
    workflow: str,
    status: str,
    run_date: str,
    failures: list[dict[str, Any]],
    link: str | None = None,
    quality: Sequence[tuple[QualityReport, str]] = (),
    dates_failed: Sequence[str] | None = None,
    driver_error: str | None = None,
) -> dict[str, Any]:
    """The exit handler's message: the failed stage's step names the stage; every failure is listed.

    ``driver_error`` is the error the failed stage's driver recorded (breweries.cluster): it says
    what went wrong, where Argo's step message says only that the driver exited.

    ``quality`` holds each failed gate's report and where it lives, when the quality step failed.
    ``dates_failed`` is set for a run over several dates (a backfill): the dates that failed, each
    named with its gate's failed checks in the text and in ``failed_gates``.
    """
    failed = failed_step(failures)
    template = str(failed.get("templateName") or "")
    stage = STAGE_OF_TEMPLATE.get(template) or template or str(failed.get("displayName") or "unknown")
    error = driver_error or str(failed.get("message") or f"workflow {status}")
    details: dict[str, Any] = {"workflow_status": status, "failures": failures}
    if link:
        details["link"] = link
    message = failure_message(run_date=run_date, stage=stage, error=error, workflow=workflow, details=details)
    if dates_failed is None:
        for report, report_uri in quality[:1]:
            message.update(report.failure_details(report_uri))
            message["text"] += f"; failed checks: {report.failed_errors_text()}; report: {report_uri}"
    else:
        message["failed_dates"] = list(dates_failed)
        if dates_failed:
            message["text"] += f"; failed dates: {', '.join(dates_failed)}"
        if quality:
            message["failed_gates"] = [
                {"run_date": report.run_date, **report.failure_details(uri)} for report, uri in quality
            ]
        for report, report_uri in quality:
            message["text"] += (
                f"; {report.run_date} failed checks: {report.failed_errors_text()}; report: {report_uri}"
            )
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
    dates = run_dates(run_date)
    backfill = RANGE in run_date
    # A backfill's failed dates, as Argo names their steps; the gates read are theirs, or, when
    # Argo names none, those of every date in the range.
    named = failed_dates(parsed, dates) if backfill else []
    gates: list[tuple[QualityReport, str]] = []
    if any(f.get("templateName") == "quality" for f in parsed):
        if not dates:
            log.warning(f"could not read the quality report: {run_date!r} is not a date or a range")
        gates = _failed_gates(settings, named or dates, log)
    dates_failed = sorted({*(str(d) for d in named), *(report.run_date for report, _ in gates)})
    recorded = _driver_error(workflow, failed_step(parsed), dates_failed or [str(d) for d in dates], log)
    message = workflow_failure_message(
        workflow=workflow,
        status=status,
        run_date=run_date,
        failures=parsed,
        link=link,
        quality=gates,
        dates_failed=dates_failed if backfill else None,
        driver_error=recorded,
    )
    post_webhook(settings.webhook_url, message)


def _driver_error(
    workflow: str, failed: dict[str, Any], dates: Sequence[str], log: logging.LoggerAdapter
) -> str | None:
    """What the failed stage's driver said went wrong, when it ran in this cluster and said it."""
    component = str(failed.get("templateName") or "")
    if component not in STAGE_OF_TEMPLATE or not in_cluster():
        return None
    try:
        return driver_error(workflow_applications(workflow), component, set(dates))
    except Exception as exc:  # the message goes out with Argo's words instead
        log.warning(f"could not read the driver's error: {type(exc).__name__}: {exc}")
        return None


def _failed_gates(
    settings: Settings, dates: Sequence[date], log: logging.LoggerAdapter
) -> list[tuple[QualityReport, str]]:
    """The reports of the gates that failed among ``dates``, and where each lives; those that passed
    or cannot be read are left out (the message goes out regardless)."""
    failed: list[tuple[QualityReport, str]] = []
    missing: list[str] = []
    try:
        store, layout = settings.open_store(), Layout(settings)
        for day in dates:
            found = read_report(store, layout, day)
            if found is None:
                missing.append(str(day))
            elif not found[0].passed:
                failed.append(found)
    except Exception as exc:
        log.warning(f"could not read the quality report: {type(exc).__name__}: {exc}")
    if missing and not failed:
        log.warning(f"could not read the quality report: none for {', '.join(missing)}")
    return failed
