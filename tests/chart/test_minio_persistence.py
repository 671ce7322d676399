"""The chart's MinIO keeps the lake's files across a restart of its pod when asked to
(minio.persistence.enabled): the catalog names those files, so losing them with the pod loses every
table (docs/failures.md, "MinIO pod deleted while silver writes")."""

from __future__ import annotations

from tests.chart.manifests import by_kind, named, render


def minio_volumes(manifests) -> dict:
    deployment = named(manifests, "Deployment", "breweries-minio")
    return {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}


def test_with_persistence_minio_keeps_its_data_on_a_claim_the_release_does_not_own() -> None:
    manifests = render(
        "--set", "minio.enabled=true", "--set", "minio.persistence.enabled=true",
        "--set", "minio.persistence.storageClassName=breweries-local", "--set", "minio.persistence.size=3Gi",
    )  # fmt: skip
    [claim] = by_kind(manifests, "PersistentVolumeClaim")
    assert claim["metadata"]["name"] == "breweries-minio-data"
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert claim["spec"]["storageClassName"] == "breweries-local"
    assert claim["spec"]["resources"]["requests"]["storage"] == "3Gi"
    assert minio_volumes(manifests)["data"] == {
        "name": "data",
        "persistentVolumeClaim": {"claimName": "breweries-minio-data"},
    }
    # Two servers never share the data: the old pod is gone before the new one starts.
    strategy = named(manifests, "Deployment", "breweries-minio")["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def test_without_persistence_minio_is_an_empty_dir_and_no_claim_is_made() -> None:
    manifests = render("--set", "minio.enabled=true")
    assert minio_volumes(manifests)["data"] == {"name": "data", "emptyDir": {}}
    assert by_kind(manifests, "PersistentVolumeClaim") == []
