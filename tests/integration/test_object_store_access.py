"""Least privilege on a real MinIO: each identity's user and policy made exactly as the chart's
set-up Job makes them (`breweries access-policies --output-dir`, then helm/breweries/files/minio-setup.sh
with mc), then used. Denied: gold reading raw bronze, the analyst listing raw silver; allowed: what
each stage's work needs, down to the whole pipeline run one stage per process, each with its own key.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.integration.s3_runs import Buckets, breweries, published_rows, run_env
from tests.s3_server import REPO, S3Server

from breweries.access import identity_names
from breweries.api.replay import ReplayServer, ReplayState
from breweries.errors import EXIT_OK, AccessDeniedError
from breweries.pipeline import STAGES
from breweries.stages.gold import GOLD
from breweries.storage import S3Store

MC = REPO / ".tools" / "bin" / "mc"
SETUP = REPO / "helm" / "breweries" / "files" / "minio-setup.sh"
RUN_DATE = "2026-01-01"
SERVED = 1000  # the snapshot's first breweries: every table partitioned, a short run


@dataclass
class Users:
    s3: S3Server
    buckets: Buckets
    keys: dict[str, tuple[str, str]]  # identity -> (access key, secret key)
    env: dict[str, str]  # the stages' settings, without credentials
    setup_output: str
    home: Path

    def client(self, identity: str) -> Any:
        access_key, secret_key = self.keys[identity]
        return self.s3.client(access_key=access_key, secret_key=secret_key)

    def credentials_env(self, identity: str) -> dict[str, str]:
        """What the chart gives a process of ``identity``: its Secret's keys, its name, the Secret's."""
        access_key, secret_key = self.keys[identity]
        return {
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "BREWERIES_S3_IDENTITY": identity,
            "BREWERIES_S3_CREDENTIALS_SECRET": f"breweries-s3-{identity}",
        }


def set_up(s3: S3Server, buckets: Buckets, policies: Path, credentials: Path, home: Path) -> str:
    """The Job's container: its script, with mc on PATH and MinIO's root user."""
    env = {
        "PATH": f"{MC.parent}{os.pathsep}{os.environ['PATH']}",
        "MC_CONFIG_DIR": str(home / "mc"),
        "S3_ENDPOINT": s3.endpoint,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "BUCKETS": " ".join(buckets.all()),
        "POLICIES": str(policies),
        "CREDENTIALS": str(credentials),
    }
    result = subprocess.run(["sh", str(SETUP)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def users(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Users:
    if not s3_server.is_minio:
        pytest.skip(f"users and policies need MinIO; the S3 server is {s3_server.kind}")
    if not MC.exists():
        pytest.skip(f"{MC.relative_to(REPO)} is not built (make test builds it: k8s/tools/build-mc.sh)")
    home = tmp_path_factory.mktemp("access")
    buckets = Buckets.fresh(s3_server, home)
    # The Spark event logs' bucket, as the chart gives every process its place.
    events = f"spark-events-{secrets.token_hex(4)}"
    s3_server.create_buckets(events)
    env = {
        k: v for k, v in run_env(s3_server, buckets, "http://127.0.0.1:9").items() if not k.startswith("AWS_")
    }
    env["BREWERIES_SPARK_EVENT_LOG_URI"] = f"s3a://{events}"
    # The Job's init container: every identity's policy, for the stages' buckets.
    made = breweries("access-policies", "--format", "minio", "--output-dir", str(home / "policies"), env=env)
    assert made.returncode == EXIT_OK, made.stderr
    # The identities' Secrets, projected as files.
    keys = {}
    for identity in identity_names():
        keys[identity] = (f"{identity}-{secrets.token_hex(4)}", secrets.token_hex(20))
        folder = home / "credentials" / identity
        folder.mkdir(parents=True)
        (folder / "access-key").write_text(keys[identity][0])
        (folder / "secret-key").write_text(keys[identity][1])
    output = set_up(s3_server, buckets, home / "policies", home / "credentials", home)
    return Users(s3_server, buckets, keys, env, output, home)


def denied(call: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return str(raised.value.response["Error"]["Code"])


def test_the_set_up_makes_one_user_per_identity_and_a_rerun_changes_nothing(users: Users) -> None:
    made = [line for line in users.setup_output.splitlines() if line.startswith("identity ")]
    assert sorted(made) == sorted(
        f"identity {i}: MinIO user {users.keys[i][0]} with policy breweries-{i}" for i in identity_names()
    )
    again = set_up(users.s3, users.buckets, users.home / "policies", users.home / "credentials", users.home)
    assert [line for line in again.splitlines() if line.startswith("identity ")] == made
    # An identity whose Secret is missing gets no user and the Job goes on.
    missing = set_up(users.s3, users.buckets, users.home / "policies", users.home / "none", users.home)
    assert "identity gold: its Secret is missing or lacks a key: no MinIO user for it" in missing


def test_the_stages_write_the_event_logs_and_the_history_server_only_reads_them(users: Users) -> None:
    events = users.env["BREWERIES_SPARK_EVENT_LOG_URI"].removeprefix("s3a://")
    log = "eventlog_v2_spark-1/events_1_spark-1.zstd"
    for stage in STAGES:
        users.client(stage.component).put_object(Bucket=events, Key=log, Body=stage.name.encode())
    history = users.client("history-server")
    assert [o["Key"] for o in history.list_objects_v2(Bucket=events)["Contents"]] == [log]
    assert history.get_object(Bucket=events, Key=log)["Body"].read() == STAGES[-1].name.encode()
    assert denied(lambda: history.put_object(Bucket=events, Key=log, Body=b"")) == "AccessDenied"
    assert denied(lambda: history.delete_object(Bucket=events, Key=log)) == "AccessDenied"
    # Nothing of the data: not even a listing of a layer's bucket.
    assert denied(lambda: history.list_objects_v2(Bucket=users.buckets.silver)) == "AccessDenied"


def test_gold_is_denied_raw_bronze(users: Users, monkeypatch: pytest.MonkeyPatch) -> None:
    b = users.buckets
    key = f"breweries/ingest_date={RUN_DATE}/page=0001.json"
    users.s3.client().put_object(Bucket=b.bronze, Key=key, Body=b"[]")
    gold = users.client("gold")
    assert denied(lambda: gold.get_object(Bucket=b.bronze, Key=key)) == "AccessDenied"
    assert denied(lambda: gold.list_objects_v2(Bucket=b.bronze, Prefix="breweries/")) == "AccessDenied"
    assert users.client("silver").get_object(Bucket=b.bronze, Key=key)["Body"].read() == b"[]"
    # As the pipeline's own storage sees it: one error naming the location, the bucket, the key.
    access_key, secret_key = users.keys["gold"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key)
    store = S3Store(users.s3.endpoint, path_style=True, region="us-east-1")
    with pytest.raises(AccessDeniedError) as raised:
        store.read_bytes(f"s3a://{b.bronze}/{key}")
    assert f"may not read s3a://{b.bronze}/{key} (bucket {b.bronze})" in str(raised.value)
    assert f"access key {access_key}" in str(raised.value)


def test_the_analyst_cannot_list_or_read_raw_silver_but_reads_gold(users: Users) -> None:
    b = users.buckets
    root = users.s3.client()
    root.put_object(Bucket=b.silver, Key="breweries/data/x.parquet", Body=b"raw")
    root.put_object(Bucket=b.gold, Key="breweries_by_type_location/data/x.parquet", Body=b"counts")
    analyst = users.client("analyst")
    assert denied(lambda: analyst.list_objects_v2(Bucket=b.silver)) == "AccessDenied"
    assert denied(lambda: analyst.list_objects_v2(Bucket=b.silver, Prefix="breweries/")) == "AccessDenied"
    assert (
        denied(lambda: analyst.get_object(Bucket=b.silver, Key="breweries/data/x.parquet")) == "AccessDenied"
    )
    listed = analyst.list_objects_v2(Bucket=b.gold, Prefix="breweries_by_type_location/")
    assert [o["Key"] for o in listed["Contents"]] == ["breweries_by_type_location/data/x.parquet"]
    assert analyst.get_object(Bucket=b.gold, Key="breweries_by_type_location/data/x.parquet")["Body"].read()
    assert denied(
        lambda: analyst.put_object(Bucket=b.gold, Key="breweries_by_type_location/y", Body=b"")
    ) == ("AccessDenied")


def test_a_stage_may_write_what_its_work_writes_and_nothing_beside_it(users: Users) -> None:
    b = users.buckets
    bronze = users.client("bronze")
    bronze.put_object(
        Bucket=b.bronze, Key=f"breweries/_staging/ingest_date={RUN_DATE}.r1/page=0001.json", Body=b"[]"
    )
    bronze.delete_object(Bucket=b.bronze, Key=f"breweries/_staging/ingest_date={RUN_DATE}.r1/page=0001.json")
    bronze.put_object(Bucket=b.state, Key=f"_state/bronze/run_date={RUN_DATE}.json", Body=b"{}")
    assert denied(lambda: bronze.put_object(Bucket=b.bronze, Key="elsewhere/x", Body=b"")) == "AccessDenied"
    assert denied(lambda: bronze.put_object(Bucket=b.silver, Key="breweries/x", Body=b"")) == "AccessDenied"
    # A stage records its own success only: gold cannot claim that the gate passed.
    gold = users.client("gold")
    gold.put_object(Bucket=b.state, Key=f"_state/gold/run_date={RUN_DATE}.json", Body=b"{}")
    assert denied(
        lambda: gold.put_object(Bucket=b.state, Key=f"_state/quality/run_date={RUN_DATE}.json", Body=b"{}")
    ) == ("AccessDenied")
    assert (
        gold.get_object(Bucket=b.state, Key=f"_state/bronze/run_date={RUN_DATE}.json")["Body"].read() == b"{}"
    )


@pytest.mark.slow
def test_the_pipeline_runs_each_stage_with_its_own_identity_and_a_wrong_one_is_denied_by_name(
    users: Users, snapshot
) -> None:
    records = snapshot[:SERVED]
    b = users.buckets
    for key in users.s3.keys(b.state):  # the other tests' records
        users.s3.client().delete_object(Bucket=b.state, Key=key)
    with ReplayServer(ReplayState(records)) as replay:
        env = {**users.env, "BREWERIES_API_URL": replay.url}
        for stage in STAGES:
            run = breweries(
                "stage", stage.name, "--date", RUN_DATE, env={**env, **users.credentials_env(stage.component)}
            )
            assert run.returncode == EXIT_OK, (stage.name, run.stderr[-3000:])
        upkeep = breweries("maintain", env={**env, **users.credentials_env("maintain")})
        assert upkeep.returncode == EXIT_OK, upkeep.stderr[-3000:]
        gold = published_rows(users.s3, b, GOLD, RUN_DATE)
        expected = Counter((r["country"], r["state_province"], r["brewery_type"]) for r in records)
        assert {(r["country"], r["state"], r["brewery_type"]): r["brewery_count"] for r in gold} == dict(
            expected
        )

        # A stage given another identity's key fails at once, not retried, in one line naming
        # the bucket and the identity: through boto3 (bronze's pages) ...
        wrong = breweries(
            "stage", "bronze", "--date", RUN_DATE, "--force", env={**env, **users.credentials_env("gold")}
        )
        assert wrong.returncode == 2, wrong.stderr[-3000:]
        (line,) = [x for x in wrong.stderr.splitlines() if "stage bronze failed" in x]
        assert (
            f"access denied: identity gold (access key {users.keys['gold'][0]}, Secret breweries-s3-gold)"
            in line
        )
        assert f"(bucket {b.bronze})" in line
        # ... and through Spark's S3A connector (anonymized silver, read by silver's key).
        wrong = breweries(
            "stage", "gold", "--date", RUN_DATE, "--force", env={**env, **users.credentials_env("silver")}
        )
        assert wrong.returncode == 2, wrong.stderr[-3000:]
        (line,) = [x for x in wrong.stderr.splitlines() if "stage gold failed" in x]
        assert "access denied: identity silver (" in line and f"(bucket {b.silver_anonymized})" in line
        assert "Traceback" not in wrong.stderr
