"""Whole run: one cold `breweries run` process, from the API replay to gold, on local folders and on
MinIO (every layer in its own bucket, tables through Spark's s3a), in the same run.

The wall time of each is split into Spark start-up, each stage, and the rest (interpreter start,
imports, shutdown), read from the run's own JSON logs; on MinIO, the S3 requests each stage made
are read from MinIO's own counters as each stage's "finished" line arrives (a request or two of
the next stage can land before the sample). The reference, measured in the same run, is a bare
Spark cold start: a fresh process that starts a session and counts one row.

With ``--parquet-rev REV`` the local run is also made with that revision's code (the layers as
plain Parquet folders, before the Iceberg tables), so that the cost of the tables' commits is
measured next to it in the same session; the target is at most 10% more.

    python bench/whole_run.py [--quick] [--parquet-rev a12c2ea [--pairs 3]]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from breweries.api.replay import ReplayServer, ReplayState, load_snapshot
from record import conclude, export_jobs, timed

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO))  # the test S3 server, shared with the tests

from tests.s3_server import running_s3_server  # noqa: E402

BIN = Path(sys.executable).parent
TARGET_SECONDS = 20.0
RUN_DATE = "2026-01-01"
BUCKETS = ("bronze", "silver", "silver-anonymized", "gold", "state")
BARE_SPARK = (
    "from breweries.settings import Settings; from breweries.spark import build_spark_session; "
    "s = build_spark_session(Settings(), 'bare'); s.range(1).count(); s.stop()"
)


def clean_env(**values: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("BREWERIES_", "AWS_"))}
    return {**keep, **values}


def run(env: dict[str, str], requests: Callable[[], dict[str, int]]) -> tuple[float, dict, dict]:
    """Wall time, seconds per part, and S3 requests per stage of one cold run."""
    before = requests()
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "breweries.cli", "run", "--date", RUN_DATE],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    logs, per_stage = [], {}
    for line in process.stderr:
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        logs.append(entry)
        if entry["message"] == "finished":
            now = requests()
            per_stage[entry["stage"]] = Counter(now) - Counter(before)
            before = now
    if process.wait() != 0:
        raise SystemExit(f"breweries run failed ({process.returncode}): {logs[-3:]}")
    wall = time.perf_counter() - start
    startup = next(e["startup_seconds"] for e in logs if e["message"] == "spark session started")
    finished = {e["stage"]: e for e in logs if e["message"] == "finished"}
    # Spark starts lazily inside the first stage that needs it (silver): take it out of silver.
    parts = {"spark start-up": startup}
    for stage, entry in finished.items():
        parts[stage] = entry["duration_seconds"] - (startup if stage == "silver" else 0.0)
    parts["process start, imports, exit"] = wall - sum(parts.values())
    return wall, parts, per_stage


def compare_with_parquet(revision: str, pairs: int, common: dict[str, str], root: Path) -> str:
    """The local run on plain Parquet (``revision``'s code) and on the tables, alternating so that a
    busy machine slows both alike: medians of ``pairs`` runs each, whole and per part."""
    walls: dict[str, list[float]] = {"parquet": [], "iceberg": []}
    parts: dict[str, list[dict[str, float]]] = {"parquet": [], "iceberg": []}
    with tempfile.TemporaryDirectory() as code:
        jobs = export_jobs(revision, Path(code))
        for number in range(pairs):
            for kind in ("parquet", "iceberg"):
                folder = root / f"{kind}-{number}"
                extra = {"PYTHONPATH": str(jobs)} if kind == "parquet" else {}
                wall, split, _ = run(clean_env(**common, BREWERIES_STORAGE_ROOT=str(folder), **extra), dict)
                walls[kind].append(wall)
                parts[kind].append(split)
    median = {kind: statistics.median(values) for kind, values in walls.items()}
    ratio = median["iceberg"] / median["parquet"]
    print(f"local run, median of {pairs}: Iceberg tables {median['iceberg']:.2f} s, plain Parquet at "
          f"{revision} {median['parquet']:.2f} s: {ratio:.2f}x (target 1.10x)")  # fmt: skip
    print(f"{'part':<30} {'Parquet s':>9} {'Iceberg s':>9}")
    split_text = []
    for name in parts["iceberg"][0]:
        seconds = {k: statistics.median(p.get(name, 0.0) for p in parts[k]) for k in parts}
        print(f"{name:<30} {seconds['parquet']:>9.2f} {seconds['iceberg']:>9.2f}")
        split_text.append(f"{name} {seconds['parquet']:.1f}/{seconds['iceberg']:.1f}s")
    runs = ", ".join(f"{k} {'/'.join(f'{w:.1f}' for w in v)}" for k, v in walls.items())
    return (
        f"; tables, median of {pairs} alternating: Iceberg {median['iceberg']:.1f}s, Parquet ({revision}) "
        f"{median['parquet']:.1f}s: {ratio:.2f}x (target 1.10x; runs {runs}; Parquet/Iceberg "
        f"{', '.join(split_text)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 breweries, nothing recorded")
    parser.add_argument("--parquet-rev", help="also run the local run with this revision's code, alternating")
    parser.add_argument("--pairs", type=int, default=3, help="Parquet/Iceberg run pairs")
    args = parser.parse_args()
    records = load_snapshot()[: 500 if args.quick else None]

    bare, _ = timed([sys.executable, "-c", BARE_SPARK], clean_env())
    with ReplayServer(ReplayState(records)) as replay, tempfile.TemporaryDirectory() as root:
        common = {
            "BREWERIES_API_URL": replay.url,
            "BREWERIES_PSEUDONYMIZATION_KEY": "bench-key-not-secret",
            "BREWERIES_LOG_FORMAT": "json",
        }
        local_wall, local_parts, _ = run(clean_env(**common, BREWERIES_STORAGE_ROOT=root), dict)
        parquet = ""
        if args.parquet_rev:
            parquet = compare_with_parquet(args.parquet_rev, args.pairs, common, Path(root))
        with running_s3_server() as s3:
            s3.create_buckets(*(f"bench-{b}" for b in BUCKETS))
            s3_env = clean_env(
                **common,
                **s3.env(),
                BREWERIES_STORAGE_ROOT="s3a://bench-state",
                BREWERIES_CATALOG_URI=f"jdbc:sqlite:{root}/s3-catalog/iceberg.db",
                **{f"BREWERIES_{b.upper().replace('-', '_')}_URI": f"s3a://bench-{b}" for b in BUCKETS[:4]},
            )
            s3_wall, s3_parts, s3_requests = run(s3_env, s3.request_counts)
            server = s3.kind

    print(f"whole run: {len(records)} breweries, replay -> bronze -> ... -> gold, one cold process each")
    print(f"{'part':<30} {'local s':>8} {'s3a s':>8} {'s3a/local':>9}  S3 requests (most frequent)")
    for name, seconds in local_parts.items():
        asked = s3_requests.get(name, Counter())
        top = ", ".join(f"{api} {n}" for api, n in asked.most_common(3))
        ratio = s3_parts[name] / seconds if seconds > 0.05 else float("nan")
        total = f"{sum(asked.values())}: {top}" if asked else ""
        print(f"{name:<30} {seconds:>8.2f} {s3_parts[name]:>8.2f} {ratio:>9.2f}  {total}")
    print(f"{'total (wall)':<30} {local_wall:>8.2f} {s3_wall:>8.2f} {s3_wall / local_wall:>9.2f}")
    print(f"s3a run on {server}; reference: bare Spark cold start (session + one count) {bare:.2f} s; "
          f"local run / reference = {local_wall / bare:.2f}x")  # fmt: skip
    requests_by_stage = ", ".join(f"{stage} {sum(c.values())}" for stage, c in s3_requests.items())
    return conclude(
        "whole run",
        quick=args.quick,
        met=local_wall < TARGET_SECONDS,
        target=f"local run under {TARGET_SECONDS:.0f} s wall",
        measured=f"{local_wall:.1f} s",
        details=f"{len(records)} breweries: local {local_wall:.1f}s wall / bare Spark start {bare:.1f}s = "
        f"{local_wall / bare:.2f}x ({', '.join(f'{n} {s:.1f}s' for n, s in local_parts.items())}); "
        f"s3a on MinIO {s3_wall:.1f}s = {s3_wall / local_wall:.2f}x local "
        f"({', '.join(f'{n} {s:.1f}s' for n, s in s3_parts.items())}; S3 requests: {requests_by_stage})"
        f"{parquet}",
    )


if __name__ == "__main__":
    sys.exit(main())
