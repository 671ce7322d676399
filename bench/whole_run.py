"""Whole local run: one cold `breweries run` process, from the API replay to gold, on the snapshot.

The wall time is split into Spark start-up, each stage, and the rest (interpreter start, imports,
shutdown), read from the run's own JSON logs. The reference, measured in the same run, is a bare
Spark cold start: a fresh process that starts a session and counts one row.

    python bench/whole_run.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from breweries.api.replay import ReplayServer, ReplayState, load_snapshot
from record import conclude

BIN = Path(sys.executable).parent
TARGET_SECONDS = 20.0
RUN_DATE = "2026-01-01"
BARE_SPARK = (
    "from breweries.settings import Settings; from breweries.spark import build_spark_session; "
    "s = build_spark_session(Settings(), 'bare'); s.range(1).count(); s.stop()"
)


def clean_env(**values: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("BREWERIES_")}, **values}


def timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 breweries, nothing recorded")
    args = parser.parse_args()
    records = load_snapshot()[: 500 if args.quick else None]

    bare, _ = timed([sys.executable, "-c", BARE_SPARK], clean_env())
    with ReplayServer(ReplayState(records)) as replay, tempfile.TemporaryDirectory() as root:
        env = clean_env(
            BREWERIES_API_URL=replay.url,
            BREWERIES_STORAGE_ROOT=root,
            BREWERIES_PSEUDONYMIZATION_KEY="bench-key-not-secret",
            BREWERIES_LOG_FORMAT="json",
        )
        wall, result = timed([str(BIN / "breweries"), "run", "--date", RUN_DATE], env)
    logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    startup = next(e["startup_seconds"] for e in logs if e["message"] == "spark session started")
    finished = {e["stage"]: e for e in logs if e["message"] == "finished"}
    assert finished["gold"]["rows_in"] == len(records), "gold did not count every brewery"
    # Spark starts lazily inside the first stage that needs it (silver): take it out of silver.
    parts = {"spark start-up": startup}
    for stage, entry in finished.items():
        parts[stage] = entry["duration_seconds"] - (startup if stage == "silver" else 0.0)
    parts["process start, imports, exit"] = wall - sum(parts.values())

    print(f"whole local run: {len(records)} breweries, replay -> bronze -> ... -> gold, one cold process")
    print(f"{'part':<30} {'seconds':>8} {'share':>6}")
    for name, seconds in parts.items():
        print(f"{name:<30} {seconds:>8.2f} {seconds / wall:>6.0%}")
    print(f"{'total (wall)':<30} {wall:>8.2f}")
    print(
        f"reference: bare Spark cold start (session + one count) {bare:.2f} s; "
        f"run / reference = {wall / bare:.2f}x"
    )
    return conclude(
        "whole run",
        quick=args.quick,
        met=wall < TARGET_SECONDS,
        target=f"under {TARGET_SECONDS:.0f} s wall",
        measured=f"{wall:.1f} s",
        details=f"{len(records)} breweries: {wall:.1f}s wall / bare Spark start {bare:.1f}s = "
        f"{wall / bare:.2f}x ({', '.join(f'{name} {seconds:.1f}s' for name, seconds in parts.items())})",
    )


if __name__ == "__main__":
    sys.exit(main())
