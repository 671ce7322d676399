"""`breweries notify`, the workflow's exit handler, against a webhook on 127.0.0.1."""

from __future__ import annotations

import json
import socket

from breweries.cli import EXIT_OK, main

# What Argo puts in {{workflow.failures}}: a JSON list, inserted as a quoted string.
FAILURES = [
    {
        "displayName": "silver(1)",
        "message": "Error (exit code 1): stage silver failed for 2026-01-01: page 3 is malformed",
        "templateName": "silver",
        "phase": "Failed",
        "podName": "breweries-x7k2p-silver-1234",
        "finishedAt": "2026-01-01T06:03:11Z",
    }
]


def notify(*extra: str, status: str = "Failed", failures: str = json.dumps(json.dumps(FAILURES))) -> int:
    return main(
        ["notify", f"--status={status}", "--workflow=breweries-x7k2p", "--run-date=2026-01-01",
         f"--failures={failures}", *extra]
    )  # fmt: skip


def test_a_failed_workflow_posts_stage_error_run_date_and_link(monkeypatch, webhook) -> None:
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", webhook.url)
    link = "https://argo.example.com/workflows/data/breweries-x7k2p"
    assert notify(f"--link={link}") == EXIT_OK
    (message,) = webhook.messages
    assert message["stage"] == "silver"
    assert message["run_date"] == "2026-01-01"
    assert message["workflow"] == "breweries-x7k2p"
    assert message["error"] == FAILURES[0]["message"]
    assert message["failures"] == FAILURES
    assert message["workflow_status"] == "Failed"
    assert message["link"] == link
    # Slack shows `text`; it names everything a person on call needs first.
    for fact in ("breweries-x7k2p", "2026-01-01", "*silver*", "page 3 is malformed", link):
        assert fact in message["text"]


def test_a_succeeded_workflow_posts_nothing(monkeypatch, webhook) -> None:
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", webhook.url)
    assert notify(status="Succeeded", failures="") == EXIT_OK
    assert webhook.messages == []


def test_failures_that_are_not_json_are_still_reported(monkeypatch, webhook) -> None:
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", webhook.url)
    assert notify(status="Error", failures="pod deleted") == EXIT_OK
    (message,) = webhook.messages
    assert message["error"] == "pod deleted" and message["stage"] == "unknown"


def test_a_webhook_that_is_down_is_logged_without_its_url_and_exits_0(monkeypatch, capfd) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/T000/B000/secret-token"
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", url)
    assert notify() == EXIT_OK
    err = capfd.readouterr().err
    assert "could not notify the webhook" in err
    assert "secret-token" not in err and str(port) not in err


def test_without_a_webhook_the_failure_is_logged_and_the_handler_exits_0(capfd) -> None:
    assert notify() == EXIT_OK
    err = capfd.readouterr().err
    assert "BREWERIES_WEBHOOK_URL is empty" in err and "page 3 is malformed" in err
