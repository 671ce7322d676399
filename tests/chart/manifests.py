"""Rendering the Helm chart with a real helm binary, and validating what it renders (test helpers).

Built-in kinds are checked by kubernetes-validate (strict: unknown fields fail). Custom resources are
checked against the CRDs vendored in tests/schemas (Argo Workflows 4.1.2, Spark Operator 2.5.2),
with every object that lists its properties closed to unknown keys, as `kubectl --validate=strict`
would.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from copy import deepcopy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "breweries"
ALL_ON_VALUES = CHART / "ci" / "all-on-values.yaml"
SCHEMAS = REPO / "tests" / "schemas"
KUBERNETES_VERSION = "1.34.0"  # the kubectl/kind generation the project targets

Manifest = dict[str, Any]


def helm_binary() -> str:
    """helm from $HELM, then PATH, then the one `make setup` installs into .tools/bin."""
    candidates = [os.environ.get("HELM"), shutil.which("helm"), str(REPO / ".tools" / "bin" / "helm")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("no helm binary: run `make setup` (installs a pinned helm into .tools/bin) or set HELM=...")


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_binary(), *args], capture_output=True, text=True, check=False)


def render(*extra_args: str, release: str = "breweries", namespace: str = "data") -> list[Manifest]:
    result = helm("template", release, str(CHART), "--namespace", namespace, *extra_args)
    if result.returncode != 0:
        raise AssertionError(f"helm template failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: list[Manifest], kind: str) -> Manifest:
    found = by_kind(manifests, kind)
    assert len(found) == 1, f"expected one {kind}, rendered {len(found)}"
    return found[0]


def named(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = [m for m in by_kind(manifests, kind) if m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, rendered {len(found)}"
    return found[0]


def spark_applications(workflow: Manifest) -> dict[str, Manifest]:
    """The SparkApplication each resource template creates, by template name: of a WorkflowTemplate,
    or of a CronWorkflow's own workflow (none when it refers to the WorkflowTemplate)."""
    spec = workflow["spec"].get("workflowSpec", workflow["spec"])
    return {
        t["name"]: yaml.safe_load(t["resource"]["manifest"])
        for t in spec.get("templates", [])
        if "resource" in t
    }


def pod_template(application: Manifest, role: str) -> Manifest:
    """The Spark pod template of a SparkApplication's ``driver`` or ``executor``."""
    return application["spec"][role]["template"]


def container(application: Manifest, role: str) -> Manifest:
    """The driver's or executor's container in its pod template (Spark takes the first)."""
    return pod_template(application, role)["spec"]["containers"][0]


def env_values(application: Manifest, role: str = "driver") -> dict[str, str | None]:
    """Its environment: plain values, and None for those that come from a Secret or the pod."""
    return {e["name"]: e.get("value") for e in container(application, role)["env"]}


def driver_env(application: Manifest) -> dict[str, str]:
    """Its plain environment as a driver gets it: the workflow's input parameters, which Argo fills
    in at run time, at the chart's defaults."""
    defaults = {
        "spark-executors-above": yaml.safe_load((CHART / "values.yaml").read_text())["spark"][
            "executorsAbove"
        ]
    }
    placeholder = re.compile(r"\{\{inputs\.parameters\.([a-z-]+)\}\}")
    return {
        name: placeholder.sub(lambda m: defaults.get(m[1], m[0]), value)
        for name, value in env_values(application).items()
        if value is not None
    }


# --- CRD schemas ---------------------------------------------------------------------------------


def _to_json_schema(node: Any) -> Any:
    """Kubernetes structural schema -> JSON Schema (draft 7), closed where Kubernetes is strict."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    out.pop("nullable", None)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    # Kubernetes' "format: int32/int64/date-time/byte" are not enforced here (neither is it by jsonschema).
    return out


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema, from every vendored CRD."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(SCHEMAS.glob("*/*.yaml.gz")):
        with gzip.open(path, "rt") as handle:
            # libyaml's loader: the pure-Python one takes seconds per CRD of this size.
            for crd in yaml.load_all(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    schema = _to_json_schema(deepcopy(version["schema"]["openAPIV3Schema"]))
                    # The API server fills these in; a manifest carries only apiVersion/kind/metadata/spec.
                    schema.get("properties", {}).pop("status", None)
                    schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def crd_errors(manifest: Manifest) -> list[str]:
    """Everything the vendored CRD schema rejects in ``manifest`` (empty: valid)."""
    key = (manifest.get("apiVersion", ""), manifest.get("kind", ""))
    schema = crd_schemas().get(key)
    if schema is None:
        return [f"no vendored CRD for {key[1]} {key[0]}"]
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    ]


def builtin_errors(manifest: Manifest) -> list[str]:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(str(p) for p in error.path)}: {error.message}"]
    return []
