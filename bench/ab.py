"""A/B: two versions of the pipeline's code on the same synthetic bronze, alternating, in one session.

Each run is the transforms benchmark's Spark worker (silver, quality, silver_anonymized and gold in
a fresh process) with PYTHONPATH pointing at one version's ``jobs`` folder: a git revision exported
to a temporary folder, or ``worktree`` for the files as they are. Runs alternate A B A B ... so
that a busy machine slows both alike; the summary gives each side's median wall and CPU seconds,
per stage too, and how many pairs B won.

    python bench/ab.py --a HEAD --b worktree --size 1000000 [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from record import export_jobs
from transforms import generate_bronze

REPO = Path(__file__).resolve().parents[1]
TRANSFORMS = Path(__file__).with_name("transforms.py")


def run_once(jobs: Path, size: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as out:
        result = subprocess.run(
            [sys.executable, str(TRANSFORMS), "--worker", "spark", "--size", str(size), "--out", out],
            capture_output=True,
            text=True,
            check=False,
            env={**_environ(), "PYTHONPATH": str(jobs)},
        )
    if result.returncode != 0:
        raise SystemExit(f"run with {jobs} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BREWERIES_")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="git revision, or worktree")
    parser.add_argument("--b", default="worktree", help="git revision, or worktree (default)")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each side (at least 3 to judge)")
    args = parser.parse_args()
    generate_bronze(args.size)
    results: dict[str, list[dict]] = {"A": [], "B": []}
    with tempfile.TemporaryDirectory(prefix="bench-ab-code-") as code:
        jobs = {side: export_jobs(rev, Path(code) / side) for side, rev in (("A", args.a), ("B", args.b))}
        for run in range(args.runs):
            for side in ("A", "B"):
                r = run_once(jobs[side], args.size)
                results[side].append(r)
                stages = " ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
                print(
                    f"run {run + 1} {side}: {r['seconds']:6.1f}s wall {r['cpu_seconds']:6.1f}s cpu "
                    f"peak {r['peak_mb']:.0f} MB ({stages})",
                    flush=True,
                )
    for side in ("A", "B"):
        if (results[side][0]["silver_rows"], results[side][0]["gold_sum"]) != (
            results["A"][0]["silver_rows"],
            results["A"][0]["gold_sum"],
        ):
            raise SystemExit("A and B disagree on silver rows or the gold sum")

    def median(side: str, pick) -> float:
        return statistics.median(pick(r) for r in results[side])

    wins = sum(b["seconds"] < a["seconds"] for a, b in zip(results["A"], results["B"], strict=True))
    print(f"\nA = {args.a}, B = {args.b}, {args.size} records, {args.runs} runs each, alternating")
    rows = [("wall", lambda r: r["seconds"]), ("cpu", lambda r: r["cpu_seconds"])]
    rows += [(stage, lambda r, s=stage: r["stages"][s]) for stage in results["A"][0]["stages"]]
    for name, pick in rows:
        a, b = median("A", pick), median("B", pick)
        print(f"  {name:<18} median A {a:7.1f}s  B {b:7.1f}s  B/A {b / a:5.2f}")
    print(f"  B faster in {wins} of {args.runs} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
