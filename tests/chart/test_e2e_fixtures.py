"""The e2e suite's fixtures (tests/e2e/manifests/fixtures.yaml) are whole objects: no document runs
into the next (a missing `---` made one Service a Deployment's duplicate keys, so a fresh cluster
had no Service for the empty and the flaky API), and every fixture Deployment has its Service."""

from __future__ import annotations

from pathlib import Path

import yaml
from tests.chart.manifests import builtin_errors

FIXTURES = Path(__file__).resolve().parents[1] / "e2e" / "manifests" / "fixtures.yaml"


class _NoDuplicateKeys(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        assert not duplicated, f"{FIXTURES.name} line {node.start_mark.line + 1}: keys repeated: {duplicated}"
        return super().construct_mapping(node, deep=deep)


def fixtures() -> list[dict]:
    # The image placeholder is what tests/e2e/cluster.py replaces before applying.
    text = FIXTURES.read_text().replace("@IMAGE@", "breweries-base:test")
    return [d for d in yaml.load_all(text, Loader=_NoDuplicateKeys) if d]


def test_every_fixture_is_one_valid_object() -> None:
    for document in fixtures():
        assert builtin_errors(document) == [], (document["kind"], document["metadata"]["name"])


def test_every_fixture_deployment_has_its_service() -> None:
    documents = fixtures()
    names = {
        kind: {d["metadata"]["name"] for d in documents if d["kind"] == kind}
        for kind in ("Deployment", "Service")
    }
    assert names["Deployment"] and names["Deployment"] == names["Service"]
