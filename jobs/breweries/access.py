"""Who may do what on which bucket: the object store's access of every identity, derived once.

The identities are one per stage, ``maintain`` (the tables' weekly upkeep), ``notify`` (the
workflow's exit handler, which reads a failed gate's report), ``trino`` (the SQL engine: reads every
table), ``analyst`` (people: read the tables without personal data) and, with an event log on
object storage, ``history_server`` (Spark's History Server: reads the event logs the stages and
maintain write). What a stage may touch
follows from the stage registry (:data:`breweries.pipeline.STAGES`: the tables it reads and writes,
its upstream stages, what it publishes) and the file layout (:mod:`breweries.layout`): a stage that
starts reading another table gets the access with no second list to keep in step.

The same grants become MinIO policies (the chart's set-up Job creates one user per identity with its
policy), AWS IAM policies (one role per identity: IRSA) and docs/iam-policies.md;
``breweries access-policies`` prints each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from breweries.errors import AccessDeniedError, PipelineError, SettingsError
from breweries.layout import Layout
from breweries.pipeline import STAGES, TABLES, stage
from breweries.settings import Settings, env_name
from breweries.stages.base import Stage
from breweries.storage import is_s3, join_uri, split_s3

# The layers without personal data: what an analyst may read (Trino's `trino.analystSchemas`).
ANALYST_LAYERS = ("silver_anonymized", "gold")

# The files stages keep beside the tables (breweries.layout): bronze's crawls (its output, handed to
# the stages downstream of it), the quality gate's reports.
_FILES: dict[str, Callable[[Layout], str]] = {
    "bronze": Layout.bronze_table_uri,
    "quality": Layout.quality_reports_uri,
}

# Reading is getting objects (S3A's HEAD too) and listing their keys; writing is putting, deleting,
# and the multipart uploads of large objects (S3A) and of aborted writers (bronze's clean-up).
READ_OBJECTS = ("s3:GetObject",)
WRITE_OBJECTS = ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
LIST_KEYS = ("s3:ListBucket",)
BUCKET_READ = ("s3:GetBucketLocation",)
BUCKET_WRITE = ("s3:ListBucketMultipartUploads",)


@dataclass(frozen=True)
class Grant:
    """Access to one object and everything under it: ``s3a://bucket/prefix``."""

    uri: str
    write: bool  # False: get and list; True: also put, delete and manage multipart uploads
    purpose: str  # what it is for, in the docs

    @property
    def bucket(self) -> str:
        return split_s3(self.uri)[0]

    @property
    def prefix(self) -> str:
        return split_s3(self.uri)[1].strip("/")


@dataclass(frozen=True)
class Identity:
    """One credential's worth of access: a MinIO user with its policy, or an IAM role."""

    name: str  # a stage's name, maintain, notify, trino, analyst
    description: str
    grants: tuple[Grant, ...]

    @property
    def component(self) -> str:
        """The name where Kubernetes allows no underscore: its Secret, ServiceAccount, policy file."""
        return self.name.replace("_", "-")

    @property
    def policy_name(self) -> str:
        return f"breweries-{self.component}"

    def buckets(self) -> list[str]:
        return sorted({g.bucket for g in self.grants})

    def prefixes(self, bucket: str, *, write: bool = False) -> list[str]:
        """The key prefixes it may read (or write) in ``bucket``, none inside another."""
        return _outermost(g.prefix for g in self.grants if g.bucket == bucket and (g.write or not write))

    def may(self, bucket: str, key: str, *, write: bool = False) -> bool:
        """Whether its policy allows reading (or writing) ``key`` in ``bucket``."""
        return any(_covers(prefix, key) for prefix in self.prefixes(bucket, write=write))

    def policy(self) -> dict[str, Any]:
        """Its policy document, IAM's grammar, which MinIO reads too."""
        statements: list[dict[str, Any]] = []
        for bucket in self.buckets():
            listing: dict[str, Any] = {
                "Sid": "List" + _camel(bucket),
                "Effect": "Allow",
                "Action": list(LIST_KEYS),
                "Resource": [_arn(bucket)],
            }
            prefixes = self.prefixes(bucket)
            if "" not in prefixes:  # keys under its prefixes only: listing asks with a prefix
                listing["Condition"] = {
                    "StringLike": {"s3:prefix": [k for p in prefixes for k in (p, p + "/*")]}
                }
            statements.append(listing)
        statements.append(_statement("Buckets", BUCKET_READ, [_arn(b) for b in self.buckets()]))
        written = [b for b in self.buckets() if self.prefixes(b, write=True)]
        if written:
            statements.append(_statement("Uploads", BUCKET_WRITE, [_arn(b) for b in written]))
        statements.append(_statement("Read", READ_OBJECTS, self._object_arns(write=False)))
        if written:
            statements.append(_statement("Write", WRITE_OBJECTS, self._object_arns(write=True)))
        return {"Version": "2012-10-17", "Statement": statements}

    def _object_arns(self, *, write: bool) -> list[str]:
        return [
            arn
            for bucket in self.buckets()
            for prefix in self.prefixes(bucket, write=write)
            for arn in (
                (_arn(bucket, prefix), _arn(bucket, prefix + "/*")) if prefix else (_arn(bucket, "*"),)
            )
        ]


def identities(settings: Settings) -> tuple[Identity, ...]:
    """Every identity and its grants, for the layers' locations in ``settings`` (on object storage)."""
    if not settings.on_object_storage:
        raise SettingsError(
            f"object-store policies need the layers on s3a:// buckets: set {env_name('storage_root')} "
            f"and the layer URIs ({env_name('bronze_uri')}, ...) as the chart does"
        )
    layout = Layout(settings)
    event_log = tuple(_event_log_grants(settings, write=True))
    found = [
        Identity(s.name, f"the {s.name} stage", (*_stage_grants(s, settings, layout), *event_log))
        for s in STAGES
    ]
    found.append(
        Identity(
            "maintain",
            "breweries maintain, the tables' upkeep",
            (
                *(
                    Grant(
                        t.location(settings),
                        True,
                        f"{t.identifier}: compacts, expires snapshots, removes orphans",
                    )
                    for t in TABLES
                ),
                *event_log,
            ),
        )
    )
    found.append(
        Identity(
            "notify",
            "the workflow's exit handler (breweries notify)",
            (
                Grant(
                    layout.quality_reports_uri(),
                    False,
                    "the gate's reports: a failed gate's checks in the message",
                ),
            ),
        )
    )
    found.append(
        Identity(
            "trino",
            "the SQL engine: every table, read only",
            tuple(Grant(t.location(settings), False, f"{t.identifier}: queries") for t in TABLES),
        )
    )
    found.append(
        Identity(
            "analyst",
            "people: the tables without personal data, read only",
            tuple(
                Grant(t.location(settings), False, f"{t.identifier}: queries")
                for t in TABLES
                if t.namespace in ANALYST_LAYERS
            ),
        )
    )
    if is_s3(settings.spark_event_log_uri):
        found.append(
            Identity(
                "history_server",
                "Spark's History Server (breweries history-server): the event logs, read only",
                tuple(_event_log_grants(settings, write=False)),
            )
        )
    return tuple(found)


def _event_log_grants(settings: Settings, *, write: bool) -> Iterator[Grant]:
    """The Spark applications' event logs: each stage's and maintain's driver writes its own there,
    the History Server reads them all."""
    if is_s3(settings.spark_event_log_uri):
        purpose = "its Spark event log: writes it" if write else "the Spark applications' event logs"
        yield Grant(settings.spark_event_log_uri, write, purpose)


def identity(settings: Settings, name: str) -> Identity:
    """One identity, by name (``silver_anonymized``) or component (``silver-anonymized``)."""
    every = identities(settings)
    for candidate in every:
        if name in (candidate.name, candidate.component):
            return candidate
    raise SettingsError(f"no identity {name!r}; the identities are {', '.join(i.name for i in every)}")


def identity_names() -> tuple[str, ...]:
    """Every identity's component name (its Secret is breweries-s3-<name>), whatever the buckets."""
    every = identities(Settings(storage_root="s3a://any", spark_event_log_uri="s3a://any-events"))
    return tuple(i.component for i in every)


def _stage_grants(s: Stage, settings: Settings, layout: Layout) -> Iterator[Grant]:
    """What one stage reads and writes, from its declaration and the runner's contract."""
    yield Grant(settings.state_uri, False, "the success records: its upstream stages' and its own")
    yield Grant(join_uri(settings.state_uri, s.name), True, "its success records")
    for table in s.reads:
        yield Grant(table.location(settings), False, f"{table.identifier}: reads the run date")
    for table in s.writes:
        yield Grant(table.location(settings), True, f"{table.identifier}: commits the run date")
    if s.name in _FILES:
        yield Grant(_FILES[s.name](layout), True, f"{s.name}'s files: writes them")
    for name in s.upstream:
        # An upstream stage that commits no table hands its files down (StageContext.bronze_uri).
        if not stage(name).writes and name in _FILES:
            yield Grant(_FILES[name](layout), False, f"{name}'s files: its input")
    for name in s.publishes:
        published = stage(name)
        for table in published.writes:
            yield Grant(table.location(settings), True, f"{table.identifier}: publishes the audited snapshot")
        if not published.writes and name in _FILES:  # breweries.publishing moves the files and re-records
            yield Grant(
                _FILES[name](layout), True, f"{name}'s files: moves the audited ones over the published"
            )
            yield Grant(
                join_uri(settings.state_uri, name), True, f"{name}'s success records: where they now are"
            )


# --- what `breweries access-policies` prints ----------------------------------------------------


def minio_policies(settings: Settings) -> dict[str, dict[str, Any]]:
    """{MinIO policy name: document}, as the chart's set-up Job creates them."""
    return {i.policy_name: i.policy() for i in identities(settings)}


def iam_policy(i: Identity) -> dict[str, str]:
    """The input of ``aws iam create-policy --cli-input-json``: a managed policy for the identity's role."""
    return {
        "PolicyName": i.policy_name,
        "Description": f"breweries: {i.description}",
        "PolicyDocument": json.dumps(i.policy()),
    }


def output(settings: Settings, form: str, name: str | None = None) -> str:
    """What ``breweries access-policies`` prints: every identity's policy, or one identity's."""
    if form == "markdown":
        return markdown(settings)
    chosen = [identity(settings, name)] if name else list(identities(settings))
    documents = {i.name: (iam_policy(i) if form == "iam" else i.policy()) for i in chosen}
    if name:
        return json.dumps(documents[chosen[0].name], indent=2)
    if form == "minio":  # keyed by the policy names the set-up Job creates
        return json.dumps({i.policy_name: documents[i.name] for i in chosen}, indent=2)
    return json.dumps(documents, indent=2)


def write_policies(settings: Settings, form: str, folder: Path) -> list[Path]:
    """One file per identity, ``<component>.json``, holding what ``--identity`` prints: the set-up
    Job's input (``mc admin policy create``)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i in identities(settings):
        path = folder / f"{i.component}.json"
        path.write_text(output(settings, form, i.name) + "\n")
        written.append(path)
    return written


def markdown(settings: Settings) -> str:
    """docs/iam-policies.md for ``settings``' buckets."""
    every = identities(settings)
    lines = [
        "# Object-store access by identity",
        "",
        "<!-- Generated by `breweries access-policies --format markdown` from breweries/access.py, with",
        "the chart's default buckets; tests/unit/test_access.py fails when it is stale. Do not edit. -->",
        "",
        "Every process that touches the buckets holds the credential of one identity, allowed exactly",
        "what its work needs. A stage's access is derived from the stage registry (the tables it reads",
        "and writes, its upstream stages, what it publishes) and the file layout, so it changes with",
        "them. With the chart's MinIO, its set-up Job creates one user per identity (access key from",
        "Secret `breweries-s3-<identity>`) with the policy below; on AWS, each identity is an IAM role",
        "(IRSA, `irsa.roleArns` in the chart) with the same policy:",
        "",
        "```console",
        "$ breweries access-policies --format iam --identity gold > gold.json",
        "$ aws iam create-policy --cli-input-json file://gold.json",
        "```",
        "",
        "Listing is allowed under the same prefixes only (`s3:prefix`); `s3:GetObject` covers S3A's HEAD.",
        "Reading means `s3:GetObject`; writing adds `s3:PutObject`, `s3:DeleteObject` and the multipart",
        "uploads' actions.",
        "",
        "| identity | who | reads | writes |",
        "|---|---|---|---|",
    ]
    for i in every:
        reads = [
            f"`{b}/{p}`" for b in i.buckets() for p in i.prefixes(b) if p not in i.prefixes(b, write=True)
        ]
        writes = [f"`{b}/{p}`" for b in i.buckets() for p in i.prefixes(b, write=True)]
        lines.append(
            f"| `{i.name}` | {i.description} | {', '.join(reads) or '-'} | {', '.join(writes) or '-'} |"
        )
    lines += ["", "## Why each grant", ""]
    for i in every:
        lines.append(
            f"- **{i.name}**: "
            + "; ".join(f"`{g.uri}` {'rw' if g.write else 'r'}: {g.purpose}" for g in i.grants)
        )
    lines += ["", "## The policies", ""]
    for i in every:
        lines += [f"### {i.name}", "", "```json", json.dumps(i.policy(), indent=2), "```", ""]
    return "\n".join(lines)


# --- a denied call, named -----------------------------------------------------------------------

# S3A's message for a 403: `java.nio.file.AccessDeniedException: <s3a://bucket/key or key>: <operation> ...`
_S3A_DENIED = re.compile(r"AccessDeniedException: (?P<path>[^\s:]+(?::/+[^\s:]+)?): (?P<operation>[^:]*)")
_WRITES = re.compile(r"\b(put|write|writing|upload|initiate|create|copy|complete)", re.IGNORECASE)
_DELETES = re.compile(r"\bdelete", re.IGNORECASE)


@contextmanager
def naming_denied_access(settings: Settings) -> Iterator[None]:
    """Turn a denied call, from boto3 or from Spark's S3A connector, into one error that names the
    location, its bucket, the identity and its Secret: neither S3 nor S3A names the credential."""
    try:
        yield
    except AccessDeniedError as exc:
        raise exc.naming(settings.s3_identity, settings.s3_credentials_secret) from None
    except PipelineError:
        raise
    except Exception as exc:
        denied = _s3a_denial(exc, settings)
        if denied is None:
            raise
        raise denied from exc


def _s3a_denial(exc: BaseException, settings: Settings) -> AccessDeniedError | None:
    found = _S3A_DENIED.search(str(exc))
    if found is None:
        return None
    path, operation = found["path"], found["operation"]
    action = "delete" if _DELETES.search(operation) else "write" if _WRITES.search(operation) else "read"
    uri = path if path.startswith("s3a://") else _locate(path, settings)
    return AccessDeniedError(
        uri,
        action,
        access_key=_access_key(),
        identity=settings.s3_identity,
        secret=settings.s3_credentials_secret,
    )


def _locate(key: str, settings: Settings) -> str:
    """S3A names a written object by its key alone: the layer whose prefix it is under, when one is."""
    candidates = [t.location(settings) for t in TABLES] + [f(Layout(settings)) for f in _FILES.values()]
    for uri in candidates:
        if _covers(split_s3(uri)[1].strip("/"), key.strip("/")):
            return join_uri(f"s3a://{split_s3(uri)[0]}", key)
    return key


def _access_key() -> str:
    """The access key id this process signs with (boto3 reads the same variables as S3A)."""
    try:
        import boto3

        credentials = boto3.session.Session().get_credentials()
        return str(credentials.access_key) if credentials is not None else ""
    except Exception:
        return ""


# --- helpers ------------------------------------------------------------------------------------


def _arn(bucket: str, key: str = "") -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")


def _statement(sid: str, actions: tuple[str, ...], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources}


def _camel(bucket: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", bucket) if part)


def _covers(prefix: str, key: str) -> bool:
    return not prefix or key == prefix or key.startswith(prefix + "/")


def _outermost(prefixes: Iterable[str]) -> list[str]:
    unique = sorted(set(prefixes))
    return [p for p in unique if not any(q != p and _covers(q, p) for q in unique)]
