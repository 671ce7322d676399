"""The one settings object every stage receives, built once from the environment and CLI flags."""

from __future__ import annotations

import difflib
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from breweries.errors import SettingsError, StorageError
from breweries.s3a import COMMITTERS, DEFAULT_COMMITTER
from breweries.storage import Store, is_s3, join_uri, normalize_uri, open_store

DEFAULT_API_URL = "https://api.openbrewerydb.org/v1"
MAX_PAGE_SIZE = 200  # the API answers 422 above this
SPARK_LOG_LEVELS = ("off", "fatal", "error", "warn", "info", "debug", "trace", "all")  # log4j's
# The standard AWS variables of a key pair (S3A's and boto3's), which a chart's Secret fills in.
AWS_KEY_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
# A byte count as the JVM and Kubernetes write it: 512m, 2g, 2Gi, 1048576 (binary multiples).
SIZE = re.compile(r"(?i)(0|[1-9][0-9]*)([kmgt]i?)?")


def size_bytes(text: str) -> int:
    match = SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    number, unit = match.groups()
    return int(number) * 1024 ** (" kmgt".index(unit[0].lower()) if unit else 0)


@dataclass(frozen=True)
class Settings:
    """Everything a stage needs to know about where it reads, writes and whom it tells.

    Build it with :meth:`from_env`; never read the environment anywhere else.
    """

    api_url: str = DEFAULT_API_URL
    storage_root: str = "./data"
    bronze_uri: str = ""
    silver_uri: str = ""
    silver_anonymized_uri: str = ""
    gold_uri: str = ""
    # Secrets stay out of repr() so that logging a Settings object cannot leak them.
    pseudonymization_key: str | None = field(default=None, repr=False)
    webhook_url: str | None = field(default=None, repr=False)
    pseudonymize_columns: tuple[str, ...] = ("name", "phone")
    page_size: int = MAX_PAGE_SIZE
    http_concurrency: int = 4
    http_timeout_seconds: float = 30.0
    http_max_attempts: int = 5
    http_backoff_seconds: float = 1.0
    rate_limit_per_minute: int = 120
    stage_retries: int = 3
    stage_retry_backoff_seconds: float = 2.0
    log_format: str = "text"
    spark_master: str = "local[*]"
    spark_shuffle_partitions: int = 4
    # The tables' Iceberg catalog (a JDBC URL); empty: a SQLite file under a local storage root.
    catalog_uri: str = ""
    catalog_user: str | None = None
    catalog_password: str | None = field(default=None, repr=False)
    # How long a table's earlier snapshots stay readable (time travel) before `breweries maintain`
    # expires them.
    snapshot_retention_days: int = 7
    # quick: the JVM stops at its C1 compiler, whose short warm-up suits runs of seconds; full: C2
    # as well, which repays its warm-up on large runs (bench/results.md). Local mode only.
    spark_jit: str = "quick"
    # The local JVM's heap (driver and executor are one process); Spark's own 1g default starves
    # large runs (bench/results.md). Local mode only.
    spark_driver_memory: str = "2g"
    # A SparkApplication's stage runs Spark inside its driver pod (local mode: no executor pods to
    # wait for) when the run date's bronze pages are smaller than this size, and on the
    # application's executors from it on; 0: always on executors. Submitted stages only.
    spark_executors_above: str = "256m"
    # How long a driver on executors waits for its first one before it fails, saying so (a
    # namespace's quota or a full node would otherwise hold it until the step's deadline).
    spark_executor_wait_seconds: float = 300.0
    # Spark's own log lines (log4j): error keeps a run's output to the pipeline's story.
    spark_log_level: str = "error"
    # S3A's output committer for the layers on object storage (breweries.s3a.COMMITTERS).
    spark_committer: str = DEFAULT_COMMITTER
    # Where each stage run's OpenLineage events go (breweries.lineage): an http(s):// server such
    # as Marquez (events are POSTed to its /api/v1/lineage unless the URL names a path), or a local
    # file that gets one event a line; empty: none are sent.
    lineage_url: str = ""
    # The run that every stage run's events name as their parent: the chart passes the Argo
    # workflow's uid; empty: one new id per process (a local `breweries run`).
    lineage_parent_run_id: str = ""
    s3_endpoint_url: str | None = None
    # Path-style addressing (host/bucket/key), which MinIO needs; unset: on whenever an endpoint is.
    s3_path_style_access: bool | None = None
    s3_region: str = "us-east-1"
    # The identity whose object-store credential this process holds (breweries.access: a stage,
    # maintain, notify) and the Kubernetes Secret it comes from (empty: none, e.g. IRSA): named
    # when the store denies a call or the credential is missing. The chart sets both.
    s3_identity: str = ""
    s3_credentials_secret: str = ""
    # Where local Spark finds the jars pyspark lacks: Iceberg's runtime, the catalog's JDBC drivers,
    # the S3A connector (empty: the checkout's .tools/jars, fetched there on first need).
    spark_jars_dir: str = ""
    # The SparkApplication whose driver this is (the chart sets it from the pod's own labels).
    spark_application: str = ""
    # Where Spark writes each application's event log, which a History Server reads (an s3a://
    # bucket or prefix, or a local folder); empty: no event log. Unreachable: the run goes on
    # without one, saying so (breweries.spark.event_log_conf).
    spark_event_log_uri: str = ""
    # The Argo workflow this driver runs for (the chart sets it): part of the Spark application's
    # name, so that the History Server's list ties each application to its run.
    workflow_name: str = ""
    # True when spark-submit started this process (a SparkApplication): the master and driver
    # networking then come from the submit conf. Derived, not configured.
    spark_submitted: bool = False
    # The standard AWS credential variables this process lacks (AWS_ACCESS_KEY_ID,
    # AWS_SECRET_ACCESS_KEY), and whether it has a web identity token instead (IAM roles for
    # service accounts: S3A then reads that). Derived, not configured: S3 credentials are never a
    # breweries setting.
    s3_keys_missing: tuple[str, ...] = ()
    s3_web_identity: bool = False
    # A warning for each BREWERIES_* variable of the environment that nothing reads (a typo, most
    # likely), naming the closest known one. Derived, not configured; the CLI logs them once.
    env_warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Layer URIs default to folders under the root; set here so that Settings(storage_root=...)
        # alone is a complete object, as it is when built from the environment.
        object.__setattr__(self, "storage_root", _storage_uri("storage_root", self.storage_root))
        for layer in ("bronze", "silver", "silver_anonymized", "gold"):
            name = f"{layer}_uri"
            value = getattr(self, name)
            resolved = _storage_uri(name, value) if value else join_uri(self.storage_root, layer)
            object.__setattr__(self, name, resolved)
        if self.spark_event_log_uri:
            uri = _storage_uri("spark_event_log_uri", self.spark_event_log_uri)
            object.__setattr__(self, "spark_event_log_uri", uri)
        self._validate()

    @property
    def layer_uris(self) -> dict[str, str]:
        return {
            "storage_root": self.storage_root,
            "bronze_uri": self.bronze_uri,
            "silver_uri": self.silver_uri,
            "silver_anonymized_uri": self.silver_anonymized_uri,
            "gold_uri": self.gold_uri,
        }

    @property
    def spark_executors_above_bytes(self) -> int:
        return size_bytes(self.spark_executors_above)

    @property
    def on_object_storage(self) -> bool:
        return is_s3(self.storage_root)

    @property
    def uses_s3a(self) -> bool:
        """Whether Spark needs the S3A connector and its settings: the layers or the event log are
        on object storage."""
        return self.on_object_storage or is_s3(self.spark_event_log_uri)

    @property
    def s3_path_style(self) -> bool:
        if self.s3_path_style_access is None:
            return self.s3_endpoint_url is not None
        return self.s3_path_style_access

    def open_store(self) -> Store:
        """The storage backend every layer lives on."""
        return open_store(
            self.storage_root,
            s3_endpoint_url=self.s3_endpoint_url,
            s3_path_style=self.s3_path_style,
            s3_region=self.s3_region,
        )

    @property
    def state_uri(self) -> str:
        """Where the per-stage, per-date success records (the "parameters" table) live."""
        return join_uri(self.storage_root, "_state")

    @staticmethod
    def raw_from_env(name: str, environ: Mapping[str, str] | None = None) -> str:
        """One setting's variable as given: what a failure can still use when Settings cannot be
        built (the log format, the driver's SparkApplication)."""
        env = os.environ if environ is None else environ
        return env.get(_ENV_NAMES[name], "").strip()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``BREWERIES_*`` variables; keyword overrides (CLI flags) win when not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in _ENV_NAMES:
                continue
            raw = env.get(_ENV_NAMES[f.name])
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f.name, raw.strip())
        # spark-submit's PythonRunner hands the driver its gateway through this variable.
        values["spark_submitted"] = "PYSPARK_GATEWAY_PORT" in env
        values["s3_keys_missing"] = tuple(k for k in AWS_KEY_VARIABLES if not env.get(k, "").strip())
        values["s3_web_identity"] = bool(env.get("AWS_WEB_IDENTITY_TOKEN_FILE", "").strip())
        values["env_warnings"] = tuple(unknown_variables(env.keys()))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def require_s3_credentials(self) -> None:
        """A process the chart gave a credential Secret has both of its keys; else one clear error.

        The chart refers to the Secret's keys as optional, so that a missing Secret or key reaches
        this message instead of leaving the pod unable to start.
        """
        if not self.s3_credentials_secret or not self.s3_keys_missing:
            return
        who = f"identity {self.s3_identity}'s" if self.s3_identity else "this process's"
        raise SettingsError(
            f"{' and '.join(self.s3_keys_missing)} {'is' if len(self.s3_keys_missing) == 1 else 'are'} "
            f"not set: Secret {self.s3_credentials_secret}, "
            f"{who} object-store credential, is missing or lacks the key; create it with both "
            f"{' and '.join(AWS_KEY_VARIABLES)} (docs/iam-policies.md)"
        )

    def require_pseudonymization_key(self) -> str:
        if not self.pseudonymization_key:
            raise not_set("pseudonymization_key", ["silver_anonymized"])
        return self.pseudonymization_key

    def _validate(self) -> None:
        positive = {
            "http_concurrency": self.http_concurrency,
            "http_max_attempts": self.http_max_attempts,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "spark_shuffle_partitions": self.spark_shuffle_partitions,
            "http_timeout_seconds": self.http_timeout_seconds,
            "spark_executor_wait_seconds": self.spark_executor_wait_seconds,
        }
        for name, value in positive.items():
            if value <= 0:
                raise SettingsError(f"{_ENV_NAMES[name]} must be greater than 0, got {value}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise SettingsError(
                f"{_ENV_NAMES['page_size']} must be between 1 and {MAX_PAGE_SIZE}, got {self.page_size}"
            )
        for name in (
            "stage_retries",
            "http_backoff_seconds",
            "stage_retry_backoff_seconds",
            "snapshot_retention_days",
        ):
            if getattr(self, name) < 0:
                raise SettingsError(f"{_ENV_NAMES[name]} must not be negative")
        if not re.fullmatch(r"[1-9][0-9]*[kmgt]?", self.spark_driver_memory.lower()):
            raise SettingsError(
                f"{_ENV_NAMES['spark_driver_memory']} must be a JVM size such as 2g or 4096m, "
                f"got {self.spark_driver_memory!r}"
            )
        if SIZE.fullmatch(self.spark_executors_above.strip()) is None:
            raise SettingsError(
                f"{_ENV_NAMES['spark_executors_above']} must be a size such as 256m or 2g "
                f"(0: always on executors), got {self.spark_executors_above!r}"
            )
        if self.spark_jit not in ("quick", "full"):
            raise SettingsError(
                f"{_ENV_NAMES['spark_jit']} must be 'quick' or 'full', got {self.spark_jit!r}"
            )
        if self.spark_log_level.lower() not in SPARK_LOG_LEVELS:
            raise SettingsError(
                f"{_ENV_NAMES['spark_log_level']} must be one of {', '.join(SPARK_LOG_LEVELS)}, "
                f"got {self.spark_log_level!r}"
            )
        if self.spark_committer not in COMMITTERS:
            raise SettingsError(
                f"{_ENV_NAMES['spark_committer']} must be one of {', '.join(COMMITTERS)}, "
                f"got {self.spark_committer!r}"
            )
        if self.log_format not in ("text", "json"):
            raise SettingsError(
                f"{_ENV_NAMES['log_format']} must be 'text' or 'json', got {self.log_format!r}"
            )
        if not self.api_url.startswith(("http://", "https://")):
            raise SettingsError(f"{_ENV_NAMES['api_url']} must be an http(s) URL, got {self.api_url!r}")
        if "://" in self.lineage_url and not self.lineage_url.startswith(("http://", "https://", "file://")):
            raise SettingsError(
                f"{_ENV_NAMES['lineage_url']} must be an http(s):// URL or a file path, "
                f"got {self.lineage_url.split('://')[0]}://..."
            )
        if self.lineage_parent_run_id:
            try:
                uuid.UUID(self.lineage_parent_run_id)
            except ValueError:
                raise SettingsError(
                    f"{_ENV_NAMES['lineage_parent_run_id']} must be a UUID (an Argo workflow's uid), "
                    f"got {self.lineage_parent_run_id!r}"
                ) from None
        if self.catalog_uri and not self.catalog_uri.startswith(("jdbc:sqlite:", "jdbc:postgresql:")):
            raise SettingsError(
                f"{_ENV_NAMES['catalog_uri']} must be a jdbc:sqlite: or jdbc:postgresql: URL, "
                f"got {self.catalog_uri.split('?')[0]!r}"
            )
        if not self.pseudonymize_columns:
            raise SettingsError(f"{_ENV_NAMES['pseudonymize_columns']} must name a column")
        # One backend for every layer: publishing moves trees within it, and one store serves all.
        kind = "s3a://" if self.on_object_storage else "a local folder"
        for name, uri in self.layer_uris.items():
            if is_s3(uri) != self.on_object_storage:
                raise SettingsError(
                    f"{_ENV_NAMES[name]} is {uri}, but {_ENV_NAMES['storage_root']} is on {kind}: "
                    f"put every layer on the same kind of storage"
                )


_DERIVED = ("spark_submitted", "s3_keys_missing", "s3_web_identity", "env_warnings")
_ENV_NAMES: dict[str, str] = {
    f.name: f"BREWERIES_{f.name.upper()}" for f in fields(Settings) if f.name not in _DERIVED
}
_ENV_NAMES["s3_endpoint_url"] = "BREWERIES_S3_ENDPOINT"


def _storage_uri(name: str, value: str) -> str:
    try:
        return normalize_uri(value)
    except StorageError as exc:
        raise SettingsError(f"{_ENV_NAMES[name]}: {exc}") from None


def _parse(name: str, raw: str) -> Any:
    """Turn one environment value into its field's type, naming the variable when it is malformed."""
    target = Settings.__dataclass_fields__[name].type
    try:
        if target == "int":
            return int(raw)
        if target == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"{_ENV_NAMES[name]} must be a number, got {raw!r}") from None
    if target == "bool | None":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise SettingsError(f"{_ENV_NAMES[name]} must be true or false, got {raw!r}")
    if target == "tuple[str, ...]":
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


# A setting a stage cannot run without: what the stage needs it for and how to choose it, then
# anything else worth knowing. Said when it is not set.
_WHEN_NOT_SET: dict[str, tuple[str, str]] = {
    "pseudonymization_key": (
        "as the secret key of its keyed hash. Set it to a secret you keep (the same key gives the "
        "same tokens on every run)",
        "`breweries demo` runs with a demo key",
    ),
}


def not_set(setting: str, stages: Sequence[str], instead: str = "") -> SettingsError:
    """The error for a setting that ``stages`` need and that is not set; ``instead``: what else to do."""
    why, aside = _WHEN_NOT_SET.get(setting, ("", ""))
    needs = f"stage {stages[0]} needs" if len(stages) == 1 else f"stages {', '.join(stages)} need"
    return SettingsError(
        f"{_ENV_NAMES[setting]} is not set: {needs} it"
        + (f" {why}" if why else "")
        + (f", or {instead}" if instead else "")
        + (f"; {aside}" if aside else "")
    )


def env_name(setting: str) -> str:
    """The environment variable that sets ``setting`` (for messages and documentation)."""
    return _ENV_NAMES[setting]


# The BREWERIES_* variables read outside this object: not settings, and no typo either.
OTHER_VARIABLES = (
    "BREWERIES_STAGE",  # the stage a stage image runs (images/stage/run_stage.py, the chart)
    "BREWERIES_NODE_IP",  # the local cluster node's address (k8s/cluster/lib.sh)
    "BREWERIES_E2E",  # make e2e: run the cluster tests (tests/e2e/cluster.py)
    "BREWERIES_E2E_KUBECONFIG",
    "BREWERIES_E2E_NAMESPACE",
    # tests/e2e/test_argo_ui.py: the browser, its driver, where screenshots go, whether docs/ gets them
    "BREWERIES_E2E_CHROMIUM",
    "BREWERIES_E2E_CHROMEDRIVER",
    "BREWERIES_E2E_ARTIFACTS",
    "BREWERIES_E2E_UPDATE_DOCS",
)


def known_variables() -> tuple[str, ...]:
    """Every BREWERIES_* variable something in the project reads: the settings' and the others."""
    return (*_ENV_NAMES.values(), *OTHER_VARIABLES)


def unknown_variables(names: Iterable[str]) -> list[str]:
    """A warning for each BREWERIES_* name among ``names`` that nothing reads, naming the closest
    known one. Names only: a misspelt secret's value never reaches a message."""
    known = known_variables()
    suffixes = [k.removeprefix("BREWERIES_") for k in known]
    warnings = []
    for name in sorted(n for n in names if n.startswith("BREWERIES_") and n not in known):
        close = difflib.get_close_matches(name.removeprefix("BREWERIES_"), suffixes, n=1)
        warnings.append(
            f"unknown setting {name}; did you mean BREWERIES_{close[0]}?"
            if close
            else f"unknown setting {name}; it is ignored (README.md, Configuration, lists the settings)"
        )
    return warnings
