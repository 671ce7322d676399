"""`breweries notify`, the workflow's exit handler, against a webhook on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from datetime import date
from pathlib import Path

import pytest

from breweries.cli import main
from breweries.errors import EXIT_OK
from breweries.layout import Layout
from breweries.quality import QualityReport, SourceCounts, evaluate_quality
from breweries.settings import Settings
from breweries.storage import LocalStore

pytestmark = pytest.mark.faults

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


def notify(
    *extra: str,
    status: str = "Failed",
    failures: str = json.dumps(json.dumps(FAILURES)),
    run_date: str = "2026-01-01",
) -> int:
    return main(
        ["notify", f"--status={status}", "--workflow=breweries-x7k2p", f"--run-date={run_date}",
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


QUALITY_FAILURES = [{**FAILURES[0], "displayName": "quality(0)", "templateName": "quality"}]


# {{workflow.failures}} as Argo v3.7.9 sent it on the local cluster (make e2e, an empty source): the
# workflow's own nodes first, the stage's attempt fourth.
ARGO_FAILURES = json.loads((Path(__file__).parent / "data" / "argo-failures-quality-gate.json").read_text())


def test_the_stage_is_named_from_argos_own_failure_list(monkeypatch, webhook) -> None:
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", webhook.url)
    assert notify(failures=json.dumps(json.dumps(ARGO_FAILURES))) == EXIT_OK
    (message,) = webhook.messages
    assert message["stage"] == "quality"
    assert message["error"] == ARGO_FAILURES[3]["message"]
    assert "at stage *quality*" in message["text"]


def test_a_stage_is_named_as_the_pipeline_names_it_not_as_its_template(monkeypatch, webhook) -> None:
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", webhook.url)
    failures = [{**FAILURES[0], "displayName": "silver-anonymized(2)", "templateName": "silver-anonymized"}]
    assert notify(failures=json.dumps(failures)) == EXIT_OK
    assert webhook.messages[0]["stage"] == "silver_anonymized"


def failed_report(run_date: str = "2026-01-01", *, passed: bool = False) -> QualityReport:
    rows, duplicates = (96, 0) if passed else (90, 2)
    return evaluate_quality(
        {"row_count": rows, "null_id_count": 0, "duplicate_id_count": duplicates, "unknown_type_count": 0,
         "coordinates_out_of_range_count": 0, "missing_country_count": 0},
        SourceCounts(bronze_records=100, quarantined=4, duplicates_removed=0),
        run_date,
    )  # fmt: skip


def test_a_failed_gate_names_its_failed_checks_with_counts_and_the_report(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("BREWERIES_STORAGE_ROOT", str(tmp_path))
    settings = Settings.from_env()
    report_uri = Layout(settings).quality_report_uri(date(2026, 1, 1))
    LocalStore().write_bytes(report_uri, failed_report().to_json())

    assert notify(failures=json.dumps(QUALITY_FAILURES)) == EXIT_OK
    (message,) = webhook.messages
    assert message["stage"] == "quality" and message["report"] == report_uri
    assert [(c["name"], c["observed"], c["expected"]) for c in message["failed_checks"]] == [
        ("no_duplicate_id", 2, "== 0"),
        ("complete_against_source", 90, "== 96"),
    ]
    assert (
        "no_duplicate_id (2 duplicate ids, expected 0)" in message["text"] and report_uri in message["text"]
    )


def test_an_unreadable_report_still_sends_the_failure(tmp_path, monkeypatch, webhook, capfd):
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("BREWERIES_STORAGE_ROOT", str(tmp_path))  # no report was ever written there
    assert notify(failures=json.dumps(QUALITY_FAILURES)) == EXIT_OK
    (message,) = webhook.messages
    assert message["stage"] == "quality" and "failed_checks" not in message
    assert "could not read the quality report" in capfd.readouterr().err


# A backfill (argo/backfill.yaml) passes its range as the run date; Argo names each date's step
# `run-date(<index>:<date>)`.
BACKFILL = "2026-01-01..2026-01-07"
BACKFILL_FAILURES = [
    {"displayName": "breweries-backfill-q8x2m", "message": "child 'breweries-backfill-q8x2m-1' failed",
     "templateName": "backfill", "phase": "Failed", "finishedAt": "2026-01-08T06:40:02Z"},
    {"displayName": "run-date(2:2026-01-03)", "message": "child 'breweries-backfill-q8x2m-2' failed",
     "templateName": "pipeline", "phase": "Failed", "finishedAt": "2026-01-08T06:40:01Z"},
    {**QUALITY_FAILURES[0], "finishedAt": "2026-01-08T06:39:58Z"},
]  # fmt: skip


def write_reports(*reports: QualityReport) -> dict[str, str]:
    layout = Layout(Settings.from_env())
    uris = {}
    for report in reports:
        uris[report.run_date] = layout.quality_report_uri(date.fromisoformat(report.run_date))
        LocalStore().write_bytes(uris[report.run_date], report.to_json())
    return uris


def test_a_failed_backfill_names_the_failed_date_and_its_gates_checks(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("BREWERIES_STORAGE_ROOT", str(tmp_path))
    # The dates before it passed; an older failed report of another date is not this run's failure.
    uris = write_reports(
        failed_report("2026-01-01", passed=True), failed_report("2026-01-02", passed=True),
        failed_report("2026-01-03"), failed_report("2026-01-06"),
    )  # fmt: skip

    assert notify(run_date=BACKFILL, failures=json.dumps(json.dumps(BACKFILL_FAILURES))) == EXIT_OK
    (message,) = webhook.messages
    assert message["run_date"] == BACKFILL and message["stage"] == "quality"
    assert message["failed_dates"] == ["2026-01-03"]
    [gate] = message["failed_gates"]
    assert gate["run_date"] == "2026-01-03" and gate["report"] == uris["2026-01-03"]
    assert [(c["name"], c["observed"], c["expected"]) for c in gate["failed_checks"]] == [
        ("no_duplicate_id", 2, "== 0"),
        ("complete_against_source", 90, "== 96"),
    ]
    assert "failed dates: 2026-01-03" in message["text"]
    assert "2026-01-03 failed checks: no_duplicate_id (2 duplicate ids, expected 0)" in message["text"]
    assert uris["2026-01-03"] in message["text"] and "2026-01-06" not in message["text"]


def test_a_backfill_whose_failures_name_no_date_reports_every_failed_gate_of_its_range(
    tmp_path, monkeypatch, webhook
):
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("BREWERIES_STORAGE_ROOT", str(tmp_path))
    write_reports(
        failed_report("2026-01-02"), failed_report("2026-01-04", passed=True), failed_report("2026-01-05")
    )

    assert notify(run_date=BACKFILL, failures=json.dumps(QUALITY_FAILURES)) == EXIT_OK
    (message,) = webhook.messages
    assert message["failed_dates"] == ["2026-01-02", "2026-01-05"]
    assert [g["run_date"] for g in message["failed_gates"]] == ["2026-01-02", "2026-01-05"]
    for day in ("2026-01-02", "2026-01-05"):
        assert f"{day} failed checks: no_duplicate_id" in message["text"]


def test_a_failed_backfill_step_names_its_date_without_a_gate(monkeypatch, webhook):
    monkeypatch.setenv("BREWERIES_WEBHOOK_URL", webhook.url)
    failures = [
        {**FAILURES[0], "displayName": "run-date(4:2026-01-05)", "templateName": "pipeline"},
        *FAILURES,
    ]
    assert notify(run_date=BACKFILL, failures=json.dumps(failures)) == EXIT_OK
    (message,) = webhook.messages
    assert message["stage"] == "silver" and message["failed_dates"] == ["2026-01-05"]
    assert "failed_gates" not in message and "failed dates: 2026-01-05" in message["text"]


@pytest.mark.parametrize(
    ("run_date", "dates"),
    [
        ("2026-01-01", ["2026-01-01"]),
        ("2026-01-30..2026-02-02", ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"]),
        ("2026-01-02..2026-01-01", []),
        ("2026-01-01..", []),
        ("yesterday", []),
    ],
)
def test_the_run_dates_of_a_date_or_a_range(run_date, dates):
    from breweries.notify import run_dates

    assert [str(d) for d in run_dates(run_date)] == dates
