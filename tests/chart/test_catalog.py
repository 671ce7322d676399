"""The tables' catalog in the chart: the chart's PostgreSQL (a StatefulSet on a volume) or an external
database, every stage's driver pointed at it, its credentials only ever from their Secret."""

from __future__ import annotations

import pytest
from tests.chart.manifests import (
    CHART,
    Manifest,
    by_kind,
    container,
    env_values,
    helm,
    one,
    render,
    spark_applications,
)

from breweries.settings import env_name

CATALOG_ENV = {env_name("catalog_uri"), env_name("catalog_user"), env_name("catalog_password")}
EXTERNAL = [
    "--set", "catalog.postgresql.enabled=false",
    "--set", "catalog.uri=jdbc:postgresql://db.example.com:5432/lake?sslmode=require",
    "--set", "catalog.credentials.secretName=lake-db", "--set", "catalog.credentials.userKey=user",
    "--set", "catalog.credentials.passwordKey=pass",
]  # fmt: skip
EXTERNAL_OFF = "catalog.postgresql.enabled=false"


def driver_env(application: Manifest) -> dict[str, dict]:
    return {e["name"]: e for e in container(application, "driver")["env"]}


def postgresql(manifests: list[Manifest]) -> Manifest:
    return one(manifests, "StatefulSet")


def test_the_settings_the_chart_sets_are_the_ones_the_pipeline_reads() -> None:
    assert {"BREWERIES_CATALOG_URI", "BREWERIES_CATALOG_USER", "BREWERIES_CATALOG_PASSWORD"} == CATALOG_ENV


def test_every_driver_reaches_the_charts_postgresql_with_credentials_from_the_secret(
    default_manifests,
) -> None:
    service = next(
        s for s in by_kind(default_manifests, "Service") if s["metadata"]["name"] == "breweries-postgresql"
    )
    assert service["spec"]["ports"] == [{"name": "postgresql", "port": 5432, "targetPort": "postgresql"}]
    applications = spark_applications(one(default_manifests, "WorkflowTemplate"))
    assert len(applications) == 5
    for name, app in applications.items():
        env = driver_env(app)
        assert (
            env["BREWERIES_CATALOG_URI"]["value"] == "jdbc:postgresql://breweries-postgresql:5432/breweries"
        ), name
        assert env["BREWERIES_CATALOG_USER"]["valueFrom"] == {
            "secretKeyRef": {"name": "breweries-catalog", "key": "username"}
        }, name
        assert env["BREWERIES_CATALOG_PASSWORD"]["valueFrom"] == {
            "secretKeyRef": {"name": "breweries-catalog", "key": "password"}
        }, name
        # Executors only read and write files: the driver alone commits to the catalog.
        assert CATALOG_ENV.isdisjoint(env_values(app, "executor")), name


def test_an_external_catalog_replaces_the_charts_postgresql() -> None:
    manifests = render(*EXTERNAL)
    assert by_kind(manifests, "StatefulSet") == []
    assert [s for s in by_kind(manifests, "Service") if "postgresql" in s["metadata"]["name"]] == []
    for app in spark_applications(one(manifests, "WorkflowTemplate")).values():
        env = driver_env(app)
        assert (
            env["BREWERIES_CATALOG_URI"]["value"]
            == "jdbc:postgresql://db.example.com:5432/lake?sslmode=require"
        )
        assert env["BREWERIES_CATALOG_USER"]["valueFrom"]["secretKeyRef"] == {
            "name": "lake-db",
            "key": "user",
        }
        assert env["BREWERIES_CATALOG_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "lake-db",
            "key": "pass",
        }


def test_no_catalog_credential_is_rendered_inline(all_on_manifests) -> None:
    from_secret = {
        "BREWERIES_CATALOG_USER",
        "BREWERIES_CATALOG_PASSWORD",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "PGUSER",
    }
    envs = [e for e in _env_vars(all_on_manifests) if e["name"] in from_secret]
    assert {e["name"] for e in envs} == from_secret
    for env in envs:
        assert "value" not in env and set(env["valueFrom"]) == {"secretKeyRef"}, env["name"]
    assert by_kind(all_on_manifests, "Secret") == []
    # Neither does the URL carry any: the schema refuses one with a user or password in it.
    for env in _env_vars(all_on_manifests):
        if env["name"] == "BREWERIES_CATALOG_URI":
            assert "password" not in env["value"] and "@" not in env["value"]


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        # The chart's PostgreSQL and an external catalog exclude each other; one is needed.
        (["catalog.uri=jdbc:postgresql://db:5432/lake"], "/catalog/uri"),
        (["catalog.postgresql.enabled=false"], "/catalog/uri"),
        # Only PostgreSQL (a SQLite file cannot be shared by the stages' pods), and no secret in the URL.
        ([EXTERNAL_OFF, "catalog.uri=jdbc:sqlite:/data/iceberg.db"], "/catalog/uri"),
        ([EXTERNAL_OFF, "catalog.uri=jdbc:postgresql://db/lake?password=hunter2"], "/catalog/uri"),
        ([EXTERNAL_OFF, "catalog.uri=jdbc:postgresql://db/lake?user=u"], "/catalog/uri"),
        (["catalog.credentials.secretName=Not_A_Name"], "/catalog/credentials/secretName"),
        (["catalog.postgresql.database=drop table"], "/catalog/postgresql/database"),
        (["catalog.postgresql.persistence.size=lots"], "/catalog/postgresql/persistence/size"),
        (["catalog.postgresql.persistence.storageClassName=Fast_SSD"], "/persistence/storageClassName"),
        (["catalog.postgresql.replicas=3"], "replicas"),
        (["networkPolicy.catalog.ports={0}"], "/networkPolicy/catalog/ports"),
    ],
)  # fmt: skip
def test_the_schema_rejects_a_wrong_catalog(settings: list[str], complaint: str) -> None:
    result = helm("template", "x", str(CHART), *(arg for s in settings for arg in ("--set", s)))
    assert result.returncode != 0
    assert complaint in result.stderr


def test_postgresql_keeps_its_data_on_a_persistent_volume_claim(default_manifests) -> None:
    statefulset = postgresql(default_manifests)
    spec = statefulset["spec"]
    assert spec["replicas"] == 1 and spec["serviceName"] == "breweries-postgresql"
    [claim] = spec["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    assert "storageClassName" not in claim["spec"]  # the cluster's default class
    [main] = spec["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
    assert mounts["data"] == "/var/lib/postgresql/data"
    env = {e["name"]: e.get("value") for e in main["env"]}
    # The database lives on the claim, in a folder of its own below the mount point.
    assert env["PGDATA"].startswith(mounts["data"] + "/")
    assert env["POSTGRES_DB"] == "breweries"
    # Everything else it writes is scratch: the socket's folder and /tmp.
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    assert set(volumes) == {"run", "tmp"} and all("emptyDir" in v for v in volumes.values())
    assert set(mounts) == {"data", "run", "tmp"}

    sized = postgresql(
        render(
            "--set",
            "catalog.postgresql.persistence.size=20Gi",
            "--set",
            "catalog.postgresql.persistence.storageClassName=fast-ssd",
        )
    )
    [claim] = sized["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "fast-ssd"
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"


def test_postgresql_runs_non_root_on_a_read_only_root_with_probes_and_limits(all_on_manifests) -> None:
    pod = postgresql(all_on_manifests)["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000  # no uid of the host's
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]  # the volume is its own
    [main] = pod["containers"]
    context = main["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert main["resources"]["limits"] and main["resources"]["requests"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert main[probe]["exec"]["command"][0] == "pg_isready", probe
    assert main["lifecycle"]["preStop"]["exec"]["command"][:2] == ["pg_ctl", "stop"]


def test_the_network_policy_lets_the_stages_reach_the_catalog(all_on_manifests) -> None:
    policy = one(all_on_manifests, "NetworkPolicy")
    selector = policy["spec"]["podSelector"]["matchLabels"]
    # The chart's PostgreSQL is one of the release's pods: the rules among them (ingress from and
    # egress to the release's pods) let every driver reach it, and nothing else in.
    pod_labels = postgresql(all_on_manifests)["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    for app in spark_applications(one(all_on_manifests, "WorkflowTemplate")).values():
        assert selector.items() <= app["spec"]["driver"]["labels"].items()
    assert {"podSelector": {"matchLabels": selector}} in policy["spec"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": selector}} in policy["spec"]["egress"][0]["to"]
    # An external database gets its own egress rule, apart from the object store's.
    external = render(
        *EXTERNAL, "--set", "networkPolicy.enabled=true", "--set", "networkPolicy.catalog.cidr=10.20.0.0/16"
    )
    egress = one(external, "NetworkPolicy")["spec"]["egress"]
    by_cidr = {
        rule["to"][0]["ipBlock"]["cidr"]: [p["port"] for p in rule["ports"]]
        for rule in egress
        if "to" in rule and "ipBlock" in rule["to"][0]
    }
    assert by_cidr["10.20.0.0/16"] == [5432]
    assert by_cidr["0.0.0.0/0"] == [443, 9000]


def test_postgresql_objects_carry_the_standard_labels(all_on_manifests) -> None:
    objects = [postgresql(all_on_manifests)] + [
        s for s in by_kind(all_on_manifests, "Service") if s["metadata"]["name"] == "brew-ci-postgresql"
    ]
    assert len(objects) == 2
    for manifest in objects:
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == "catalog"
        for key in ("name", "instance", "version", "managed-by", "part-of"):
            assert f"app.kubernetes.io/{key}" in labels, (manifest["kind"], key)


def _env_vars(manifests: list[Manifest]):
    """Every env entry of every container, the SparkApplications' pod templates included."""
    for manifest in manifests:
        yield from _envs(manifest)
        if manifest["kind"] == "WorkflowTemplate":
            for app in spark_applications(manifest).values():
                yield from _envs(app)


def _envs(node):
    if isinstance(node, dict):
        if isinstance(node.get("env"), list):
            yield from node["env"]
        for value in node.values():
            yield from _envs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _envs(item)
