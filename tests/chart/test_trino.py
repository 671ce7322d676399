"""The chart's Trino: the lake's catalog as Spark writes it, access by sensitivity, secrets by reference."""

from __future__ import annotations

import json
import re

import yaml
from tests.chart.manifests import CHART, named

from breweries.access import ANALYST_LAYERS
from breweries.lake.catalog import CATALOG


def properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_trino_is_off_by_default(default_manifests) -> None:
    assert not [m for m in default_manifests if m["metadata"]["name"].endswith("-trino")]


def test_analysts_read_exactly_the_layers_without_personal_data_by_default() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())["trino"]
    assert tuple(values["analystSchemas"]) == ANALYST_LAYERS


def test_the_rules_let_engineers_read_every_table_and_analysts_only_their_layers(all_on_manifests) -> None:
    rules = json.loads(named(all_on_manifests, "ConfigMap", "brew-ci-trino")["data"]["rules.json"])
    tables = rules["tables"]
    [engineers] = [
        r for r in tables if r.get("user") and re.fullmatch(r["user"], "ops-alice") and "schema" not in r
    ]
    assert engineers == {"user": "engineer|ops-.*", "catalog": "lake", "privileges": ["SELECT"]}
    [analysts] = [r for r in tables if r.get("user") == "analyst"]
    assert re.fullmatch(analysts["schema"], "gold") and re.fullmatch(analysts["schema"], "silver_anonymized")
    assert not re.fullmatch(analysts["schema"], "silver")
    # No rule grants anything but SELECT: the pipeline alone writes the tables.
    assert {p for rule in tables for p in rule["privileges"]} == {"SELECT"}


def test_catalog_lake_is_the_pipelines_jdbc_catalog_with_no_secret_inline(all_on_manifests) -> None:
    data = named(all_on_manifests, "ConfigMap", "brew-ci-trino")["data"]
    lake = properties(data["lake.properties"])
    assert lake["iceberg.jdbc-catalog.catalog-name"] == CATALOG
    assert (
        lake["iceberg.jdbc-catalog.connection-url"] == "jdbc:postgresql://brew-ci-postgresql:5432/breweries"
    )
    assert lake["iceberg.jdbc-catalog.connection-password"] == "${ENV:CATALOG_PASSWORD}"
    assert lake["s3.endpoint"] == "https://s3.example.com"
    # No key pair named: Trino takes the AWS default chain (IRSA).
    assert "s3.aws-access-key" not in lake and "s3.aws-secret-key" not in lake
    config = properties(data["config.properties"])
    assert config["internal-communication.shared-secret"] == "${ENV:TRINO_SHARED_SECRET}"
    assert (
        config["http-server.https.enabled"] == "true"
        and config["http-server.authentication.type"] == "PASSWORD"
    )
    assert config["query.max-execution-time"] == "30m"


def test_the_pod_takes_its_secrets_from_secrets(all_on_manifests) -> None:
    deployment = named(all_on_manifests, "Deployment", "brew-ci-trino")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert all("valueFrom" in variable for variable in container["env"])
    assert {v["name"] for v in container["env"]} == {
        "TRINO_SHARED_SECRET",
        "CATALOG_USER",
        "CATALOG_PASSWORD",
    }
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["secret"]["secret"]["secretName"] == "breweries-trino"
    assert volumes["tls"]["secret"]["secretName"] == "breweries-trino-tls"
    service = named(all_on_manifests, "Service", "brew-ci-trino")
    assert [p["port"] for p in service["spec"]["ports"]] == [8443]
