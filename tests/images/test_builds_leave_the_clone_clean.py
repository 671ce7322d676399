"""The image builds write only under .tools: a build never rewrites a tracked file.

Each build records what it made in its cache and compares that with the record committed beside
its script (images/lib/record.sh). Runs the cached builds of this clone, so it skips itself where an
image or its cache is missing (make cluster-up or make images-standin, images-postgres and
images-trino build them).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILDS = {
    "spark-standin": "breweries-spark-standin:4.0.1-bookworm",
    "postgres": "localhost/breweries/postgres:15.20-bookworm",
    "trino": "localhost/breweries/trino:476-trixie",
}


def require_cached_build(name: str, image: str) -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker client on PATH: install Docker (Debian: apt-get install docker.io)")
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("no Docker engine answers: start one with k8s/tools/docker-engine.sh")
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=30).returncode != 0:
        pytest.skip(f"{image} is not built here: run make images-{name.removeprefix('spark-')}")
    if not (ROOT / ".tools" / name).is_dir():
        pytest.skip(f"no build cache .tools/{name} in this clone: its build would start from scratch")


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_a_cached_build_records_in_tools_and_leaves_the_committed_record_alone(name: str) -> None:
    require_cached_build(name, BUILDS[name])
    committed = ROOT / "images" / name / "BUILD.txt"
    before = committed.stat().st_mtime_ns, committed.read_bytes()

    build = subprocess.run([f"images/{name}/build.sh"], cwd=ROOT, capture_output=True, text=True, timeout=600)

    assert build.returncode == 0, build.stderr[-2000:]
    assert (committed.stat().st_mtime_ns, committed.read_bytes()) == before
    record = ROOT / ".tools" / name / "BUILD.txt"
    assert f"image: {BUILDS[name]}" in record.read_text()
    assert f"recorded in {record}" in build.stderr
