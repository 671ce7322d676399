"""The error taxonomy is the one source of exit codes and retry decisions; the README agrees with it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from breweries.errors import (
    EXIT_OK,
    FAILURES,
    ApiError,
    DataQualityError,
    MissingUpstreamError,
    PipelineError,
    RunDateBusyError,
    SettingsError,
    StageError,
    StorageError,
    can_retry,
    describe,
    exit_code_of,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_exit_codes() -> dict[int, str]:
    section = README.read_text().split("### Exit codes", 1)[1].split("\n#", 1)[0]
    return {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)}


def test_the_readme_documents_exactly_the_exit_codes_the_taxonomy_has() -> None:
    assert set(readme_exit_codes()) == {EXIT_OK} | {failure.exit_code for failure in FAILURES}


def test_the_readme_names_exactly_the_codes_that_are_never_retried() -> None:
    section = README.read_text().split("### Exit codes", 1)[1].split("\n#", 1)[0]
    sentence = re.search(r"Failures that a retry cannot fix \(codes ([\d, ]+)\) are not retried", section)
    assert sentence, "the README's exit-code section must say which codes are not retried"
    documented = {int(code) for code in sentence.group(1).split(",")}
    assert documented == {failure.exit_code for failure in FAILURES if not failure.retryable}


def test_each_failure_has_its_own_exit_code() -> None:
    codes = [failure.exit_code for failure in FAILURES]
    assert len(codes) == len(set(codes)) and EXIT_OK not in codes


def test_infrastructure_failures_are_retried_and_exit_1() -> None:
    for failure in (StorageError("bucket b: AccessDenied"), OSError("disk")):
        assert can_retry(failure) and exit_code_of(failure) == 1


def test_an_api_failure_is_retried_by_the_http_client_only() -> None:
    # The client has spent its own retries when it raises: a whole stage attempt meets the same API.
    failure = ApiError("meta of http://api/v1/breweries/meta failed after 5 attempts: HTTP 503")
    assert not can_retry(failure) and exit_code_of(failure) == 6
    assert StageError("bronze", date(2026, 1, 1), failure).exit_code == ApiError.exit_code


def test_what_a_retry_cannot_fix_is_not_retried() -> None:
    assert not can_retry(SettingsError("BREWERIES_PAGE_SIZE must be between 1 and 200"))
    assert not can_retry(RunDateBusyError("run date 2026-01-01 is already being run"))
    assert not can_retry(MissingUpstreamError("gold", "silver_anonymized", date(2026, 1, 1)))
    assert not DataQualityError.retryable


def test_a_failed_stage_ends_the_run_with_its_causes_code() -> None:
    day = date(2026, 1, 1)
    assert StageError("silver", day, StorageError("gone")).exit_code == StorageError.exit_code == 1
    assert StageError("bronze", day, SettingsError("bad")).exit_code == 2
    assert StageError("gold", day, MissingUpstreamError("gold", "silver", day)).exit_code == 4
    assert StageError("silver", day, ValueError("unexpected")).exit_code == PipelineError.exit_code


def test_a_jvm_error_is_described_by_its_message_and_root_cause_in_one_line(spark) -> None:
    from py4j.protocol import Py4JJavaError

    with pytest.raises(Py4JJavaError) as failure:  # a Java exception with a cause, raised in the JVM
        spark.sparkContext._jvm.java.lang.Class.forName("no.such.Class")
    described = describe(failure.value)
    assert described.startswith("java.lang.ClassNotFoundException: no.such.Class")
    assert "\n" not in described and "\tat " not in str(described)
    assert len(describe(RuntimeError("x" * 5000))) == 1000
