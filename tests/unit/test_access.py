"""Who may do what on which bucket, derived from the stage registry: each identity exactly its part."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from breweries import access
from breweries.access import ANALYST_LAYERS, Identity, identities, identity
from breweries.cli import main
from breweries.errors import AccessDeniedError, SettingsError, can_retry, exit_code_of
from breweries.pipeline import STAGES, TABLES
from breweries.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "iam-policies.md"
BUCKETS = yaml.safe_load((REPO / "helm" / "breweries" / "values.yaml").read_text())["storage"]["buckets"]
# The chart's layout: every layer in its own bucket, the state records in the storage root's.
CHART_ENV = {
    "BREWERIES_STORAGE_ROOT": f"s3a://{BUCKETS['state']}",
    **{
        f"BREWERIES_{layer.upper()}_URI": f"s3a://{BUCKETS[layer]}"
        for layer in (*ANALYST_LAYERS, "bronze", "silver")
    },
    "BREWERIES_SPARK_EVENT_LOG_URI": f"s3a://{BUCKETS['spark_events']}",
}
DOC_COMMAND = " ".join(f"{k}={v}" for k, v in CHART_ENV.items()) + (
    " .venv/bin/breweries access-policies --format markdown > docs/iam-policies.md"
)


def chart_settings() -> Settings:
    return Settings.from_env(CHART_ENV)


def by_name() -> dict[str, Identity]:
    return {i.name: i for i in identities(chart_settings())}


def layer_of(bucket: str) -> str:
    return {name: layer for layer, name in BUCKETS.items()}[bucket]


def layers(i: Identity, *, write: bool = False) -> set[str]:
    return {layer_of(b) for b in i.buckets() if i.prefixes(b, write=write)}


def test_each_identity_may_touch_exactly_the_buckets_of_its_work() -> None:
    reads = {name: layers(i) for name, i in by_name().items()}
    writes = {name: layers(i, write=True) for name, i in by_name().items()}
    # Every Spark driver (the stages', maintain's) writes its event log; the History Server reads them.
    assert reads == {
        "bronze": {"bronze", "state", "spark_events"},
        "silver": {"bronze", "silver", "state", "spark_events"},
        # quality publishes the audited bronze and silver
        "quality": {"bronze", "silver", "state", "spark_events"},
        "silver_anonymized": {"silver", "silver_anonymized", "state", "spark_events"},
        "gold": {"silver_anonymized", "gold", "state", "spark_events"},
        "maintain": {"silver", "silver_anonymized", "gold", "spark_events"},
        "notify": {"silver"},
        "trino": {"silver", "silver_anonymized", "gold"},
        "analyst": {"silver_anonymized", "gold"},
        "history_server": {"spark_events"},
    }
    assert writes == {
        "bronze": {"bronze", "state", "spark_events"},
        "silver": {"silver", "state", "spark_events"},
        "quality": {"bronze", "silver", "state", "spark_events"},
        "silver_anonymized": {"silver_anonymized", "state", "spark_events"},
        "gold": {"gold", "state", "spark_events"},
        "maintain": {"silver", "silver_anonymized", "gold", "spark_events"},
        "notify": set(),
        "trino": set(),
        "analyst": set(),
        "history_server": set(),
    }


def test_gold_has_no_access_to_bronze_and_the_analyst_none_to_raw_silver() -> None:
    every = by_name()
    for name, forbidden in (
        ("gold", "bronze"),
        ("analyst", "silver"),
        ("analyst", "bronze"),
        ("trino", "bronze"),
    ):
        resources = {r for s in every[name].policy()["Statement"] for r in s["Resource"]}
        assert BUCKETS[forbidden] not in {r.removeprefix("arn:aws:s3:::").split("/")[0] for r in resources}
    # The analyst reads the layers without personal data, the same ones Trino's rules give analysts.
    trino = yaml.safe_load((REPO / "helm" / "breweries" / "values.yaml").read_text())["trino"]
    assert tuple(trino["analystSchemas"]) == ANALYST_LAYERS
    assert {t.namespace for t in TABLES if every["analyst"].may(BUCKETS[t.namespace], t.name)} == set(
        ANALYST_LAYERS
    )


def test_every_stage_may_read_the_tables_it_declares_and_write_those_it_commits() -> None:
    every, settings = by_name(), chart_settings()
    for s in STAGES:
        me = every[s.name]
        for table in s.reads:
            bucket, prefix = table.location(settings).removeprefix("s3a://").split("/", 1)
            assert me.may(bucket, f"{prefix}/metadata/v1.metadata.json"), (s.name, table.identifier)
        for table in s.writes:
            bucket, prefix = table.location(settings).removeprefix("s3a://").split("/", 1)
            assert me.may(bucket, f"{prefix}/data/x.parquet", write=True), (s.name, table.identifier)
        # A table it neither reads, writes nor publishes is out of its reach.
        published = [t for p in s.publishes for t in next(x for x in STAGES if x.name == p).writes]
        touched = {t.identifier for t in (*s.reads, *s.writes, *published)}
        for table in TABLES:
            if table.identifier in touched:
                continue
            bucket, prefix = table.location(settings).removeprefix("s3a://").split("/", 1)
            assert not me.may(bucket, f"{prefix}/data/x.parquet", write=True), (s.name, table.identifier)


def test_a_stage_records_only_its_own_success_but_reads_every_record() -> None:
    every, state = by_name(), BUCKETS["state"]
    for s in STAGES:
        for other in STAGES:
            record = f"_state/{other.name}/run_date=2026-01-01.json"
            assert every[s.name].may(state, record), (s.name, other.name)
            # The gate re-records bronze's crawl where it published it (breweries.publishing).
            allowed = other.name == s.name or (other.name in s.publishes and not other.writes)
            assert every[s.name].may(state, record, write=True) == allowed, (s.name, other.name)


def test_grants_stop_at_the_prefixes_of_the_work_not_at_the_bucket() -> None:
    every = by_name()
    silver, bronze = BUCKETS["silver"], BUCKETS["bronze"]
    assert every["silver"].may(bronze, "breweries/ingest_date=2026-01-01/page=0001.json")
    assert not every["silver"].may(bronze, "breweries/ingest_date=2026-01-01/page=0001.json", write=True)
    assert not every["silver"].may(silver, "quality_checks/metadata/v1.metadata.json", write=True)
    assert not every["silver"].may(silver, "_quality/snapshot_date=2026-01-01/report.json")
    assert every["quality"].may(silver, "_quality/snapshot_date=2026-01-01/report.json", write=True)
    assert every["notify"].may(silver, "_quality/snapshot_date=2026-01-01/report.json")
    assert not every["notify"].may(silver, "breweries/data/x.parquet")
    assert every["bronze"].may(
        bronze, "breweries/_candidates/ingest_date=2026-01-01.abc/page=0001.json", write=True
    )
    assert not every["bronze"].may(bronze, "elsewhere/x", write=True)
    # Listing asks with a prefix: each bucket's listing is conditioned on the same prefixes.
    listing = next(s for s in every["notify"].policy()["Statement"] if s["Action"] == ["s3:ListBucket"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["_quality", "_quality/*"]}}


def test_layers_sharing_one_bucket_are_told_apart_by_their_prefixes() -> None:
    shared = Settings.from_env(
        {
            "BREWERIES_STORAGE_ROOT": "s3a://lake/root",
            **{
                f"BREWERIES_{layer.upper()}_URI": f"s3a://lake/{layer}"
                for layer in ("bronze", "silver", *ANALYST_LAYERS)
            },
        }
    )
    analyst = identity(shared, "analyst")
    assert analyst.buckets() == ["lake"]
    assert analyst.may("lake", "gold/breweries_by_type_location/data/x.parquet")
    assert not analyst.may("lake", "silver/breweries/data/x.parquet")
    listing = next(s for s in analyst.policy()["Statement"] if s["Action"] == ["s3:ListBucket"])
    assert not any(p.startswith("silver/") for p in listing["Condition"]["StringLike"]["s3:prefix"])


def test_policies_are_documents_iam_and_minio_both_read() -> None:
    for i in identities(chart_settings()):
        document = i.policy()
        assert document["Version"] == "2012-10-17"
        sids = [s["Sid"] for s in document["Statement"]]
        assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids), i.name
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow" and statement["Resource"], (i.name, statement)
            assert all(a.startswith("s3:") and "*" not in a for a in statement["Action"]), (i.name, statement)
            assert all(r.startswith("arn:aws:s3:::") for r in statement["Resource"]), (i.name, statement)
        iam = access.iam_policy(i)
        assert iam["PolicyName"] == f"breweries-{i.component}"
        assert json.loads(iam["PolicyDocument"]) == document  # aws iam create-policy --cli-input-json


def test_the_identities_are_the_stages_then_maintain_notify_trino_analyst_and_the_history_server() -> None:
    assert access.identity_names() == (
        *(s.component for s in STAGES),
        "maintain",
        "notify",
        "trino",
        "analyst",
        "history-server",
    )
    assert identity(chart_settings(), "silver-anonymized").name == "silver_anonymized"
    with pytest.raises(SettingsError, match="no identity 'nobody'"):
        identity(chart_settings(), "nobody")


def test_policies_need_the_layers_on_object_storage(tmp_path) -> None:
    with pytest.raises(SettingsError, match="s3a:// buckets"):
        identities(Settings(storage_root=str(tmp_path)))


def test_the_committed_policy_doc_is_the_one_the_code_generates() -> None:
    assert DOC.read_text() == access.markdown(chart_settings()) + "\n", (
        f"docs/iam-policies.md is stale; regenerate it with:\n{DOC_COMMAND}"
    )


def test_the_cli_prints_one_identitys_policy_and_writes_the_set_up_jobs_files(
    monkeypatch, capsys, tmp_path
) -> None:
    for name, value in CHART_ENV.items():
        monkeypatch.setenv(name, value)
    assert main(["access-policies", "--identity", "gold"]) == 0
    assert json.loads(capsys.readouterr().out) == by_name()["gold"].policy()
    assert main(["access-policies", "--format", "iam", "--identity", "analyst"]) == 0
    assert json.loads(capsys.readouterr().out) == access.iam_policy(by_name()["analyst"])
    assert main(["access-policies", "--format", "minio", "--output-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    files = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert files == {i.component: i.policy() for i in identities(chart_settings())}
    assert main(["access-policies", "--list"]) == 0
    assert capsys.readouterr().out.split() == list(access.identity_names())


def test_the_cli_refuses_policies_for_a_local_storage_root(tmp_path, capsys) -> None:
    assert main(["access-policies", "--storage-root", str(tmp_path)]) == 2
    assert "s3a:// buckets" in capsys.readouterr().err


# --- bad input: a missing key, a denied call -------------------------------------------------------


def test_a_stage_whose_secret_lacks_a_key_fails_at_once_naming_the_secret(monkeypatch, capsys) -> None:
    secret = {"BREWERIES_S3_IDENTITY": "gold", "BREWERIES_S3_CREDENTIALS_SECRET": "breweries-s3-gold"}
    env = {**CHART_ENV, **secret, "AWS_ACCESS_KEY_ID": "breweries-gold"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    assert main(["stage", "gold", "--date", "2026-01-01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "AWS_SECRET_ACCESS_KEY is not set: Secret breweries-s3-gold" in err[0]
    assert "identity gold" in err[0]


def test_a_process_given_no_secret_is_not_asked_for_keys() -> None:
    # Local runs and IRSA pods: the chart names no Secret, and the standard chains find credentials.
    Settings.from_env(CHART_ENV).require_s3_credentials()
    assert Settings.from_env({**CHART_ENV, "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"}).s3_web_identity


def test_a_denied_call_names_the_location_bucket_identity_and_secret_and_is_not_retried() -> None:
    denied = AccessDeniedError("s3a://breweries-bronze/breweries/x.json", "read", access_key="breweries-gold")
    named = denied.naming("gold", "breweries-s3-gold")
    text = str(named)
    assert "\n" not in text
    for part in ("identity gold", "access key breweries-gold", "Secret breweries-s3-gold", "may not read",
                 "s3a://breweries-bronze/breweries/x.json", "bucket breweries-bronze",
                 "breweries access-policies --identity gold"):  # fmt: skip
        assert part in text, part
    assert not can_retry(named) and exit_code_of(named) == 2


S3A_DENIAL = (
    "An error occurred while calling o123.load.\n: java.nio.file.AccessDeniedException: "
    "s3a://breweries-bronze/breweries/ingest_date=2026-01-01/_manifest.json: getFileStatus on "
    "s3a://breweries-bronze/breweries/ingest_date=2026-01-01/_manifest.json: "
    "software.amazon.awssdk.services.s3.model.S3Exception: Access Denied. (Service: S3, Status Code: 403)\n"
    "\tat org.apache.hadoop.fs.s3a.S3AUtils.translateException(S3AUtils.java:260)"
)


def test_a_denial_from_spark_s3a_becomes_the_same_one_line_error() -> None:
    settings = Settings.from_env({**CHART_ENV, "BREWERIES_S3_IDENTITY": "gold",
                                  "BREWERIES_S3_CREDENTIALS_SECRET": "breweries-s3-gold"})  # fmt: skip
    with pytest.raises(AccessDeniedError) as raised, access.naming_denied_access(settings):
        raise RuntimeError(S3A_DENIAL)
    text = str(raised.value)
    assert text.startswith("access denied: identity gold (")
    assert "may not read s3a://breweries-bronze/breweries/ingest_date=2026-01-01/_manifest.json" in text
    assert "(bucket breweries-bronze)" in text and "Secret breweries-s3-gold" in text
    # Anything else passes through untouched.
    with pytest.raises(ValueError, match="other"), access.naming_denied_access(settings):
        raise ValueError("other")
