"""What every benchmark shares: the verdict on its target and a dated line in results.md."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from breweries import __version__

RESULTS = Path(__file__).with_name("results.md")


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
