"""How a run can end: one exception class per kind of failure, each knowing its exit code and
whether another attempt can help.

The local runner's retries, Argo's retry expression (helm/breweries) and the CLI's exit code all read
these two attributes, so "is it worth retrying?" and "what does the process return?" are one
decision. The README's exit-code table is checked against this module by a test.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from breweries.quality import QualityReport

EXIT_OK = 0


class PipelineError(Exception):
    """A failure of the pipeline's own kind. Anything else a stage raises counts as exit 1, retryable."""

    exit_code: int = 1
    retryable: bool = True


class StorageError(PipelineError):
    """Reading or writing failed; the message names the location (bucket, key or path).

    Retried: an object store that is down or slow may answer the next attempt.
    """


class AccessDeniedError(StorageError):
    """The object store refused a call to this process's credential: its policy does not allow it,
    or the store does not know the key.

    The message names the location, the bucket and the identity (``breweries access-policies``
    says what each identity may do). Not retried: the next attempt has the same credential and policy.
    """

    exit_code = 2
    retryable = False

    def __init__(
        self,
        uri: str,
        action: str,
        *,
        access_key: str = "",
        code: str = "AccessDenied",
        identity: str = "",
        secret: str = "",
    ) -> None:
        self.uri, self.action, self.access_key, self.code = uri, action, access_key, code
        self.identity, self.secret = identity, secret
        self.bucket = uri.split("://", 1)[-1].split("/", 1)[0] if "://" in uri else ""
        held = [f"access key {access_key}" if access_key else "", f"Secret {secret}" if secret else ""]
        source = ", ".join(h for h in held if h)
        who = f"identity {identity}" if identity else "this process's credential"
        who += f" ({source})" if source else ""
        where = f"{uri} (bucket {self.bucket})" if self.bucket else uri
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            why = (
                f"the object store does not accept {who} ({code}): check the key pair in its Secret "
                f"against the store's user"
            )
            super().__init__(f"access denied: cannot {action} {where}: {why}")
            return
        fix = (
            f"`breweries access-policies --identity {identity}` prints what it may do"
            if identity
            else "docs/iam-policies.md says which identity may do what"
        )
        super().__init__(
            f"access denied: {who} may not {action} {where}; {fix}. Give the process its own "
            "identity's credential, or, if its stage needs this, change breweries.access and apply "
            "the policies again (helm upgrade)"
        )

    def naming(self, identity: str, secret: str) -> AccessDeniedError:
        """The same denial, naming the identity that was denied and the Secret its key is in."""
        return AccessDeniedError(
            self.uri,
            self.action,
            access_key=self.access_key,
            code=self.code,
            identity=identity,
            secret=secret,
        )


class ApiError(PipelineError):
    """The API could not be crawled; the message names the request (page or meta) and the cause.

    Raised by the HTTP client once its own retry policy is spent (docs/failures.md): it retries what
    passes (5xx, 429, timeouts, resets, bodies cut short) with backoff, and gives what does not pass
    (a refused connection, an unknown host, a web page instead of the API) one brief retry. Not
    retried again, by the local runner or by Argo: a whole stage attempt a few seconds later meets
    the same API, and the client's settings (BREWERIES_HTTP_MAX_ATTEMPTS, _BACKOFF_SECONDS) are
    the one place that says how long to wait for it.
    """

    exit_code = 6
    retryable = False


class SettingsError(PipelineError, ValueError):
    """A setting or flag is missing or malformed. The message names it, never a secret's value."""

    exit_code = 2
    retryable = False


class TableSchemaError(SettingsError):
    """A table in the catalog disagrees with the code (a column of another type): the exit code
    and retry rule of a setting that is wrong, since the next attempt meets the same table."""


class DataQualityError(PipelineError):
    """The gate failed: at least one error-level check did not pass. Carries the report.

    Not retried: the same data fails the same checks.
    """

    exit_code = 3
    retryable = False

    def __init__(self, report: QualityReport, report_uri: str) -> None:
        super().__init__(
            f"data quality gate failed for {report.run_date}: {report.failed_errors_text()}; "
            f"report: {report_uri}"
        )
        self.report, self.report_uri = report, report_uri


class MissingUpstreamError(PipelineError):
    """A stage's input for the run date was never recorded as done."""

    exit_code = 4
    retryable = False

    def __init__(self, stage: str, upstream: str, run_date: date) -> None:
        super().__init__(
            f"{stage} needs {upstream} for {run_date.isoformat()}, which was never recorded as done: "
            f"run `breweries run --date {run_date.isoformat()} --stages {upstream}` first"
        )
        self.stage, self.upstream, self.run_date = stage, upstream, run_date


class RunDateBusyError(PipelineError):
    """Another process is running the same date on the same storage; nothing was run."""

    exit_code = 5
    retryable = False


class StageError(PipelineError):
    """A stage failed for good, after its retries. It ends the run with its cause's exit code."""

    retryable = False

    def __init__(self, stage: str, run_date: date, cause: BaseException) -> None:
        super().__init__(f"stage {stage} failed for {run_date.isoformat()}: {describe(cause)}")
        self.stage, self.run_date, self.cause = stage, run_date, cause
        self.exit_code = exit_code_of(cause)


# Every way a run can end other than success, for the README check and the chart's retry rule.
FAILURES: tuple[type[PipelineError], ...] = (
    PipelineError,
    SettingsError,
    DataQualityError,
    MissingUpstreamError,
    RunDateBusyError,
    ApiError,
)


def describe(exc: BaseException, limit: int = 1000) -> str:
    """One line for a log or a message. A JVM error (py4j's) is its own message and its root cause,
    not the Java stack trace that its text carries."""
    java = getattr(exc, "java_exception", None)
    text = str(exc)
    if java is not None:
        try:
            root = java
            while root.getCause() is not None and not root.getCause().equals(root):
                root = root.getCause()
            text = str(java.toString()) + ("" if root is java else f"; caused by {root.toString()}")
        except Exception:  # the JVM is gone: its text still has the message first
            text = text.split("\n\tat ", 1)[0]
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def exit_code_of(exc: BaseException) -> int:
    return exc.exit_code if isinstance(exc, PipelineError) else PipelineError.exit_code


def can_retry(exc: BaseException) -> bool:
    return exc.retryable if isinstance(exc, PipelineError) else PipelineError.retryable
