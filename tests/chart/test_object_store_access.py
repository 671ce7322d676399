"""Each process the chart runs holds its own object-store identity; MinIO's set-up makes them from
breweries.access; on AWS the same identities are IAM roles (IRSA) and no key is in any Secret."""

from __future__ import annotations

import pytest
import yaml
from tests.chart.manifests import (
    CHART,
    REPO,
    builtin_errors,
    by_kind,
    container,
    crd_errors,
    driver_env,
    env_values,
    helm,
    named,
    one,
    render,
    spark_applications,
)

from breweries import s3a
from breweries.access import identity_names
from breweries.pipeline import STAGES
from breweries.settings import Settings

ROLE = "arn:aws:iam::123456789012:role/breweries-{}"
IRSA = ("--set", "irsa.enabled=true", *(
    arg for name in ("bronze", "silver", "quality", "silver_anonymized", "gold", "maintain", "notify")
    for arg in ("--set", f"irsa.roleArns.{name}={ROLE.format(name.replace('_', '-'))}")
))  # fmt: skip


def secret_refs(env: list[dict]) -> dict[str, dict]:
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"] for e in env if "secretKeyRef" in e.get("valueFrom", {})
    }


def applications(manifests: list[dict]) -> dict[str, dict]:
    """Every SparkApplication the chart's workflows create: the stages' and the upkeep's."""
    apps = spark_applications(one(manifests, "WorkflowTemplate"))
    cron = named(manifests, "CronWorkflow", "breweries-maintenance")
    return apps | {"maintain": spark_applications(cron)["maintain"]}


def test_the_chart_knows_the_identities_breweries_access_derives() -> None:
    job = one(render("--set", "minio.enabled=true"), "Job")
    sources = job["spec"]["template"]["spec"]["volumes"][-1]["projected"]["sources"]
    assert [s["secret"]["items"][0]["path"].split("/")[0] for s in sources] == list(identity_names())


def test_every_stage_and_the_upkeep_use_their_own_identitys_secret(default_manifests) -> None:
    for name, app in applications(default_manifests).items():
        for role in ("driver", "executor"):
            env = container(app, role)["env"]
            refs = secret_refs(env)
            for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                # Optional: a missing Secret or key is the stage's own message, naming the Secret.
                assert refs[variable] == {"name": f"breweries-s3-{name}", "key": variable, "optional": True}
            assert env_values(app, role)["BREWERIES_S3_IDENTITY"] == name
            assert env_values(app, role)["BREWERIES_S3_CREDENTIALS_SECRET"] == f"breweries-s3-{name}"


def test_the_notifier_reads_reports_as_notify_and_only_minio_holds_the_root_key(all_on_manifests) -> None:
    template = one(all_on_manifests, "WorkflowTemplate")
    notifier = next(t for t in template["spec"]["templates"] if t["name"] == "notify-failure")
    assert secret_refs(notifier["container"]["env"])["AWS_ACCESS_KEY_ID"]["name"] == "breweries-s3-notify"
    root_users = set()
    for manifest in all_on_manifests:
        text = yaml.safe_dump(manifest)
        if "name: breweries-s3\n" in text:
            root_users.add((manifest["kind"], manifest["metadata"]["name"]))
    assert root_users == {("Deployment", "brew-ci-minio"), ("Job", "brew-ci-minio-buckets")}


def test_identity_secret_names_follow_the_values_pattern() -> None:
    manifests = render("--set", "secrets.s3Credentials.identitySecretName=acme-%s-keys")
    gold = spark_applications(one(manifests, "WorkflowTemplate"))["gold"]
    assert secret_refs(container(gold, "driver")["env"])["AWS_ACCESS_KEY_ID"]["name"] == "acme-gold-keys"
    refused = helm(
        "template", "x", str(CHART), "--set", "secrets.s3Credentials.identitySecretName=fixed-name"
    )
    assert refused.returncode != 0 and "identitySecretName" in refused.stderr


def test_the_minio_set_up_job_applies_the_packages_policies_with_each_identitys_keys() -> None:
    manifests = render("--set", "minio.enabled=true", "--set", "trino.s3Credentials.name=sql-engine-keys")
    spec = one(manifests, "Job")["spec"]["template"]["spec"]
    (policies,) = spec["initContainers"]
    # The policies come from the package in the base image, for the buckets the stages are given.
    assert policies["image"] == "breweries-base:0.1.0"
    assert policies["command"] == [
        "breweries",
        "access-policies",
        "--format",
        "minio",
        "--output-dir",
        "/policies",
    ]
    gold = spark_applications(one(manifests, "WorkflowTemplate"))["gold"]
    buckets = {
        k: v
        for k, v in env_values(gold).items()
        if k.startswith("BREWERIES_") and str(v).startswith("s3a://")
    }
    assert buckets and {e["name"]: e.get("value") for e in policies["env"]}.items() >= buckets.items()
    (setup,) = spec["containers"]
    assert setup["args"] == [(CHART / "files" / "minio-setup.sh").read_text()]
    assert secret_refs(setup["env"])["AWS_ACCESS_KEY_ID"]["name"] == "breweries-s3"  # MinIO's root
    sources = {
        s["secret"]["items"][0]["path"].split("/")[0]: s["secret"]
        for s in spec["volumes"][-1]["projected"]["sources"]
    }
    assert sources["gold"]["name"] == "breweries-s3-gold" and sources["gold"]["optional"] is True
    assert sources["trino"]["name"] == "sql-engine-keys"  # Trino's own Secret (trino.s3Credentials)
    assert [i["path"] for i in sources["analyst"]["items"]] == ["analyst/access-key", "analyst/secret-key"]


def test_cluster_up_makes_every_identitys_secret_under_the_charts_default_names() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["secrets"]["s3Credentials"]["identitySecretName"] % "gold" == "breweries-s3-gold"
    script = (REPO / "k8s" / "cluster-up.sh").read_text()
    assert "-m breweries.cli access-policies --list" in script
    assert 'secret "breweries-s3-$identity"' in script


# --- IRSA -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def irsa_manifests() -> list[dict]:
    return render(*IRSA)


def test_with_irsa_no_process_holds_a_key_and_each_stage_runs_as_its_roles_service_account(
    irsa_manifests,
) -> None:
    for name, app in applications(irsa_manifests).items():
        account = f"breweries-spark-{name}"
        assert app["spec"]["driver"]["serviceAccount"] == account
        assert app["spec"]["executor"]["serviceAccount"] == account
        assert crd_errors(app) == [], name
        for role in ("driver", "executor"):
            env = env_values(app, role)
            assert "AWS_ACCESS_KEY_ID" not in env and "BREWERIES_S3_CREDENTIALS_SECRET" not in env
            assert env["BREWERIES_S3_IDENTITY"] == name
        sa = named(irsa_manifests, "ServiceAccount", account)
        assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE.format(name)}
    binding = named(irsa_manifests, "RoleBinding", "breweries-spark")
    assert {s["name"] for s in binding["subjects"]} == {"breweries-spark"} | {
        f"breweries-spark-{n}" for n in (*(s.component for s in STAGES), "maintain")
    }
    workflow_sa = named(irsa_manifests, "ServiceAccount", "breweries-workflow")
    assert workflow_sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE.format("notify")}
    assert "AWS_ACCESS_KEY_ID" not in yaml.safe_dump_all(by_kind(irsa_manifests, "WorkflowTemplate"))
    for manifest in irsa_manifests:
        assert (crd_errors(manifest) if manifest["kind"] in ("WorkflowTemplate", "CronWorkflow") else
                builtin_errors(manifest)) == [], manifest["metadata"]["name"]  # fmt: skip


def test_with_irsa_s3a_and_local_spark_take_the_pods_web_identity(irsa_manifests) -> None:
    app = spark_applications(one(irsa_manifests, "WorkflowTemplate"))["silver"]
    expected = s3a.hadoop_conf(
        endpoint=None, region="us-east-1", path_style=True, committer="magic", web_identity=True
    )
    assert app["spec"]["hadoopConf"] == expected
    # EKS's webhook adds the token's path to the pod: the driver's settings then say the same.
    env = driver_env(app)
    settings = Settings.from_env(
        {**env, "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/token"}
    )
    assert (
        s3a.hadoop_conf(
            endpoint=settings.s3_endpoint_url,
            region=settings.s3_region,
            path_style=settings.s3_path_style,
            committer=settings.spark_committer,
            web_identity=settings.s3_web_identity,
        )
        == expected
    )


@pytest.mark.parametrize(
    "values",
    [
        ("--set", "irsa.enabled=true"),  # no roles
        (*IRSA, "--set", "minio.enabled=true"),  # MinIO's users have keys
        (*IRSA, "--set", "irsa.roleArns.gold=not-an-arn"),
    ],
    ids=["no-roles", "with-minio", "bad-arn"],
)
def test_the_schema_refuses_irsa_without_every_role_or_beside_minio(values) -> None:
    result = helm("template", "x", str(CHART), *values)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
