"""The error a failed driver records on its SparkApplication is what the exit handler's message says
(the wiring, on a real cluster: tests/e2e/test_stage_credentials.py)."""

from __future__ import annotations

from typing import Any

from breweries.cluster import ERROR_ANNOTATION, driver_error
from breweries.notify import workflow_failure_message


def application(component: str, run_date: str, created: str, error: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "labels": {"app.kubernetes.io/component": component, "breweries/run-date": run_date},
        "creationTimestamp": created,
    }
    if error is not None:
        metadata["annotations"] = {ERROR_ANNOTATION: error}
    return {"metadata": metadata}


APPLICATIONS = [
    application("bronze", "2026-07-01", "2026-07-01T10:00:00Z", None),
    application("silver", "2026-07-01", "2026-07-01T10:05:00Z", "first attempt: storage timed out"),
    application("silver", "2026-07-01", "2026-07-01T10:09:00Z", "last attempt: access denied ..."),
    application("silver", "2026-07-02", "2026-07-01T10:12:00Z", "another date's error"),
]


def test_the_newest_attempt_of_the_stage_for_the_date_is_the_one_quoted() -> None:
    assert driver_error(APPLICATIONS, "silver", {"2026-07-01"}) == "last attempt: access denied ..."
    assert driver_error(APPLICATIONS, "silver", set()) == "another date's error"


def test_a_stage_whose_drivers_recorded_nothing_has_no_error() -> None:
    assert driver_error(APPLICATIONS, "bronze", {"2026-07-01"}) is None
    assert driver_error(APPLICATIONS, "gold", set()) is None
    assert driver_error(APPLICATIONS, "silver", {"2026-07-03"}) is None


def test_the_message_says_what_the_driver_said_and_keeps_argos_words_in_the_failures() -> None:
    failures = [
        {
            "templateName": "bronze",
            "displayName": "bronze(0)",
            "message": "failure condition '{metadata.labels.breweries/retryable == [false]}' evaluated true",
            "finishedAt": "2026-07-01T10:03:00Z",
        }
    ]
    said = "AWS_SECRET_ACCESS_KEY is not set: Secret breweries-s3-bronze, identity bronze's ..."
    message = workflow_failure_message(
        workflow="breweries-x", status="Failed", run_date="2026-07-01", failures=failures, driver_error=said
    )
    assert (message["stage"], message["error"]) == ("bronze", said)
    assert said in message["text"] and message["failures"] == failures
    without = workflow_failure_message(
        workflow="breweries-x", status="Failed", run_date="2026-07-01", failures=failures
    )
    assert without["error"] == failures[0]["message"]
