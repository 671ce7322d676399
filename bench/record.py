"""What every benchmark shares: the verdict on its target and a dated line in results.md."""

from __future__ import annotations

import os
import platform
import subprocess
import tarfile
import time
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

from breweries import __version__

RESULTS = Path(__file__).with_name("results.md")
REPO = Path(__file__).resolve().parents[1]


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, breweries {__version__}"


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall seconds and standard output of a process that must succeed (its stderr's end if not)."""
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)[:300]} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def append_result(benchmark: str, details: str) -> None:
    """One dated line in bench/results.md: when, which benchmark, on what, and what it measured."""
    line = f"- {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {benchmark}, {machine()}, {details}\n"
    with RESULTS.open("a") as results:
        results.write(line)


def conclude(benchmark: str, *, quick: bool, met: bool, target: str, measured: str, details: str) -> int:
    """Print the verdict on the target; outside --quick, record the run. 1 when the target was missed."""
    verdict = "not judged (--quick)" if quick else ("met" if met else "MISSED")
    print(f"target: {target}: {verdict} ({measured})")
    if not quick:
        append_result(benchmark, f"{details}; target {verdict}")
    return 1 if verdict == "MISSED" else 0


def export_jobs(revision: str, into: Path, *more: str) -> Path:
    """The ``jobs`` folder of ``revision`` (``worktree``: the checkout's own), and its folders ``more``
    beside it (``bench``: its own benchmarks)."""
    if revision == "worktree":
        return REPO / "jobs"
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "jobs", *more],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    # The exported code looks for its Spark jars beside it, as in a checkout: this one's.
    (into / ".tools").symlink_to(REPO / ".tools")
    return into / "jobs"
