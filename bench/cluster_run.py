"""Cluster run: where a workflow's time goes on the cluster of `make cluster-up`, stage by stage, next
to local runs of the same data measured in the same run, and a run large enough to need executors.

1. The snapshot. The workflow is submitted as a user would (`argo submit --from
   workflowtemplate/breweries`, with force=true so that every stage works) on the snapshot the
   chart's API replay serves, twice: as the chart decides (the snapshot's bronze is below
   spark.executorsAbove, so each stage's Spark runs inside its driver), then with
   `-p spark-executors-above=0` (every stage on its executor pods): the lever's before and after.
   Each stage's wall time (its Argo step, first pod start to last pod end) is split by the
   timestamps Kubernetes, the Spark Operator and the stage's own JSON log lines record
   (Kubernetes' are whole seconds):

     step start    the step's pod starts and creates the SparkApplication
     submit        the operator runs spark-submit, which creates the driver pod
     pod start     the driver pod is scheduled and its container started
     driver start  the driver's JVM, Python and imports, up to the stage's "started" line
     spark start   the stage's SparkSession, when it starts one (executors: until they register)
     work          the stage itself ("finished" line's duration, without the session start)
     end           the driver exits, the operator records COMPLETED, Argo sees it

   A stage's fixed cost is its step minus its work: everything but the stage's own work.
   The reference is one cold local `breweries run` (bench/whole_run.py's) on the same records.
   Targets: the workflow within 3x the local run, and a median fixed cost of at most 10 s.

2. Scale (--records, 5M by default; 0 skips it). bench/transforms.py's synthetic bronze is put in
   the chart's MinIO for its own date with bronze's record, the chart is upgraded with
   bench/cluster-scale-values.yaml (two executor pods per Spark stage) and rolled back afterwards,
   and the workflow builds silver to gold from it: the date's bronze is above spark.executorsAbove,
   so the stages choose their executors themselves. Gold, read through the catalog, must equal
   DuckDB's independent count of the same files, and each stage's rows/s per core is printed next
   to a local Spark run's (bench/transforms.py's worker, same files, this machine's cores).

    python bench/cluster_run.py [--date 2026-09-01] [--records 5000000] [--scale-date 2026-09-15]
    python bench/cluster_run.py --no-snapshot --scale-workflow NAME   # measure a finished scale run
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from breweries.api.replay import ReplayServer, ReplayState, load_snapshot
from breweries.pipeline import STAGES
from record import append_result
from transforms import bronze_folder, generate_bronze, run_worker
from whole_run import clean_env, run

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO))  # the cluster helpers the end-to-end tests use

from tests.e2e.cluster import (  # noqa: E402
    Workflow,
    chart_catalog,
    chart_minio,
    component,
    get_json,
    helm,
    kubectl,
    release_values,
    submit,
    unavailable,
)

PARTS = ("step start", "submit", "pod start", "driver start", "spark start", "work", "end")
TARGET_RATIO = 3.0
TARGET_FIXED_SECONDS = 10.0
MIN_EXECUTORS = 2
SCALE_VALUES = Path(__file__).with_name("cluster-scale-values.yaml")


def when(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def log_lines(pod: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in kubectl("logs", pod).stdout.splitlines() if line.startswith("{")]


def stage_parts(
    node: dict[str, Any], application: dict[str, Any]
) -> tuple[dict[str, float], dict[str, Any]] | None:
    """Seconds per part of one stage's step (see the module's docstring), and its "finished" line;
    None for a stage that did no work (already done for the date: the scale run's bronze)."""
    driver = get_json("pod", application["status"]["driverInfo"]["podName"])
    container = driver["status"]["containerStatuses"][0]["state"]["terminated"]
    logs = log_lines(driver["metadata"]["name"])
    began_at = next((e["ts"] for e in logs if e["message"] == "started"), None)
    if began_at is None:
        return None
    began = when(began_at)
    finished = next(e for e in logs if e["message"] == "finished")
    session = next((e["startup_seconds"] for e in logs if e["message"] == "spark session started"), 0.0)
    marks = [
        when(node["startedAt"]),
        when(application["metadata"]["creationTimestamp"]),
        when(driver["metadata"]["creationTimestamp"]),
        when(container["startedAt"]),
        began,
    ]
    parts = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(marks)]
    parts += [session, finished["duration_seconds"] - session]
    parts.append((when(node["finishedAt"]) - when(finished["ts"])).total_seconds())
    return dict(zip(PARTS, parts, strict=True)), finished


class Run:
    """One finished workflow, measured stage by stage."""

    def __init__(self, workflow: Workflow) -> None:
        status = workflow.wait()["status"]
        if status["phase"] != "Succeeded":
            raise SystemExit(f"workflow {workflow.name} ended {status['phase']}: {status.get('message')}")
        self.name = workflow.name
        self.wall = (when(status["finishedAt"]) - when(status["startedAt"])).total_seconds()
        steps = {n["templateName"]: n for n in status["nodes"].values() if n["type"] == "Retry"}
        self.applications = {component(a): a for a in workflow.spark_applications()}
        everything = {
            s.name: stage_parts(steps[s.component], self.applications[s.component])
            for s in STAGES
            if s.component in self.applications
        }
        measured = {name: parts for name, parts in everything.items() if parts is not None}
        self.parts = {name: parts for name, (parts, _) in measured.items()}
        self.finished = {name: line for name, (_, line) in measured.items()}

    def fixed(self, stage: str) -> float:
        return sum(self.parts[stage].values()) - self.parts[stage]["work"]

    def executors(self, stage: str) -> int:
        application = self.applications[stage.replace("_", "-")]
        return len(application["status"].get("executorState") or {})

    def table(self, title: str, local_parts: dict[str, float]) -> str:
        lines = [title, f"{'stage':<18} {'step':>6} " + " ".join(f"{p:>12}" for p in PARTS)
                 + f" {'fixed':>6} {'local':>7}"]  # fmt: skip
        for stage, parts in self.parts.items():
            lines.append(
                f"{stage:<18} {sum(parts.values()):>6.0f} "
                + " ".join(f"{parts[p]:>12.1f}" for p in PARTS)
                + f" {self.fixed(stage):>6.1f} {local_parts.get(stage, float('nan')):>7.1f}"
            )
        return "\n".join(lines)

    def summary(self) -> str:
        return "; ".join(
            f"{stage} {sum(parts.values()):.0f}s (fixed {self.fixed(stage):.1f}: "
            + ", ".join(f"{p} {parts[p]:.1f}" for p in PARTS if p != "work")
            + f"; work {parts['work']:.1f})"
            for stage, parts in self.parts.items()
        )


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def snapshot_runs(run_date: str) -> tuple[str, bool]:
    """Part 1: the snapshot in the driver and on executors, and a local run, in this order."""
    runs = {}
    for mode, extra in (("in the driver", ()), ("on executors", ("-p", "spark-executors-above=0"))):
        print(f"cluster run: the snapshot, Spark {mode} ...", flush=True)
        args = ("--from", "workflowtemplate/breweries", "-p", f"run-date={run_date}", "-p", "force=true")
        runs[mode] = Run(submit(*args, *extra))
    with ReplayServer(ReplayState(load_snapshot())) as replay, tempfile.TemporaryDirectory() as root:
        env = clean_env(
            BREWERIES_API_URL=replay.url,
            BREWERIES_PSEUDONYMIZATION_KEY="bench-key-not-secret",
            BREWERIES_LOG_FORMAT="json",
            BREWERIES_STORAGE_ROOT=root,
        )
        local_wall, local_parts, _ = run(env, dict)
    driver, executors = runs["in the driver"], runs["on executors"]
    for mode, measured in runs.items():
        print(measured.table(f"\nworkflow {measured.name}, Spark {mode}; seconds", local_parts))
    ratio = driver.wall / local_wall
    fixed = statistics.median(driver.fixed(stage) for stage in driver.parts)
    print(
        f"\nworkflow wall: Spark in the driver {driver.wall:.0f} s, on executors {executors.wall:.0f} s; "
        f"local run {local_wall:.1f} s (Spark start-up {local_parts['spark start-up']:.1f} s)\n"
        f"target: workflow within {TARGET_RATIO:g}x the local run: {ratio:.1f}x, "
        f"{met(ratio <= TARGET_RATIO)}\n"
        f"target: median fixed cost per stage at most {TARGET_FIXED_SECONDS:g} s: {fixed:.1f} s, "
        f"{met(fixed <= TARGET_FIXED_SECONDS)}"
    )  # fmt: skip
    text = (
        f"snapshot: workflow, Spark in the driver {driver.wall:.0f}s / local run {local_wall:.1f}s = "
        f"{ratio:.1f}x (target {TARGET_RATIO:g}x), median fixed cost {fixed:.1f}s (target "
        f"{TARGET_FIXED_SECONDS:g}s); on executors {executors.wall:.0f}s = "
        f"{executors.wall / local_wall:.1f}x; "
        f"in the driver: {driver.summary()}; on executors: {executors.summary()}"
    )  # fmt: skip
    return text, ratio <= TARGET_RATIO and fixed <= TARGET_FIXED_SECONDS


def put_bronze(records: int, run_date: str) -> None:
    """bench/transforms.py's synthetic bronze as the date's bronze in the chart's MinIO, recorded as
    done, and no later stage's record for the date: the workflow builds silver to gold from it."""
    from breweries.layout import Layout
    from breweries.settings import Settings
    from breweries.state import StageRun, StateStore

    minio = chart_minio()
    os.environ.update(minio.env())  # the store's boto3 client reads them
    # The release's buckets, as the chart names them to the stages (BREWERIES_*_URI).
    buckets = release_values()["storage"]["buckets"]
    layers = {
        "storage_root": "state",
        **{f"{layer}_uri": layer for layer in ("bronze", "silver", "silver_anonymized", "gold")},
    }
    settings = Settings(
        s3_endpoint_url=minio.endpoint, **{k: f"s3a://{buckets[b]}" for k, b in layers.items()}
    )
    store, day = settings.open_store(), date.fromisoformat(run_date)
    folder, target = generate_bronze(records), Layout(settings).bronze_uri(day)
    bucket, prefix = target.removeprefix("s3a://").split("/", 1)
    client = minio.client()
    print(f"scale: putting {records:,} records of bronze into s3a://{bucket}/{prefix} ...", flush=True)
    with ThreadPoolExecutor(8) as pool:
        files = sorted(folder.iterdir())
        list(pool.map(lambda f: client.upload_file(str(f), bucket, f"{prefix}/{f.name}"), files))
    state = StateStore(store, settings.state_uri)
    for stage in STAGES[1:]:
        uri = f"{settings.state_uri}/{stage.name}/run_date={run_date}.json"
        if store.exists(uri):
            store.delete_object(uri)
    manifest = json.loads((folder / "_manifest.json").read_text())
    now = datetime.now(timezone.utc).isoformat()
    size = sum(page["bytes"] for page in manifest["pages"])
    state.record(StageRun("bronze", run_date, now, now, 0.0, records, manifest["record_count"], target,
                          details={"bytes": size}, run_id=f"bench-{records}"))  # fmt: skip


def gold_rows(run_date: str) -> dict[tuple[str, str, str], int]:
    from pyiceberg.expressions import EqualTo

    table = chart_catalog(chart_minio()).load_table("gold.breweries_by_type_location")
    rows = table.scan(row_filter=EqualTo("snapshot_date", run_date)).to_arrow().to_pylist()
    return {(r["country"], r["state"], r["brewery_type"]): r["brewery_count"] for r in rows}


def scale_run(records: int, run_date: str, finished: str | None) -> tuple[str, bool]:
    """Part 2: the date's synthetic bronze through silver to gold on two executors per stage (or the
    finished workflow of such a run, measured again)."""
    if finished:
        measured = Run(Workflow(finished))
    else:
        put_bronze(records, run_date)
        revision = json.loads(helm("history", "breweries", "-o", "json").stdout)[-1]["revision"]
        helm("upgrade", "breweries", "helm/breweries", "--reset-then-reuse-values", "--wait",
             "--values", str(SCALE_VALUES), timeout=600)  # fmt: skip
        try:
            print(f"scale: the workflow for {run_date}, chart with {SCALE_VALUES.name} ...", flush=True)
            measured = Run(submit("--from", "workflowtemplate/breweries", "-p", f"run-date={run_date}"))
        finally:
            helm("rollback", "breweries", str(revision), "--wait", timeout=600)
    print("scale: the same files in local Spark and in DuckDB ...", flush=True)
    local = run_worker("spark", records)
    duckdb = run_worker("duckdb", records)
    independent = {(c, s, t): n for c, s, t, n in duckdb["gold"]}
    cluster_gold = gold_rows(run_date)
    gold_equal = cluster_gold == independent
    cores = os.cpu_count() or 1
    lines, rates = [], []
    for stage in measured.parts:
        executors = measured.executors(stage)
        rows = measured.finished[stage]["rows_in"]
        work = measured.parts[stage]["work"]
        cluster_rate = rows / work / max(executors, 1)  # one core per executor (SCALE_VALUES)
        local_rate = rows / local["stages"][stage] / cores
        lines.append(f"{stage:<18} {executors:>9} {rows:>11,} {work:>7.1f} {cluster_rate:>13,.0f} "
                     f"{local['stages'][stage]:>7.1f} {local_rate:>11,.0f}")  # fmt: skip
        rates.append(
            f"{stage} {executors} executors {cluster_rate:,.0f} rows/s/core (local {local_rate:,.0f})"
        )
    spread = all(measured.executors(stage) >= MIN_EXECUTORS for stage in measured.parts)
    print(measured.table(f"\nscale: workflow {measured.name}, {records:,} records; seconds", local["stages"]))
    print(f"\n{'stage':<18} {'executors':>9} {'rows in':>11} {'work s':>7} {'rows/s/core':>13} "
          f"{'local s':>7} {'local r/s/c':>11}")  # fmt: skip
    print("\n".join(lines))
    print(
        f"target: at least {MIN_EXECUTORS} executor pods per Spark stage: {met(spread)}; gold equals "
        f"DuckDB's count ({len(independent)} rows, {sum(independent.values()):,} breweries): "
        f"{met(gold_equal)}; workflow {measured.wall:.0f} s, local Spark {local['seconds']:.0f} s, "
        f"DuckDB {duckdb['seconds']:.0f} s"
    )
    if not gold_equal:
        differing = sorted(set(cluster_gold.items()) ^ set(independent.items()))[:5]
        print(f"scale: gold differs, e.g. {differing}")
    text = (
        f"scale {records:,} records: workflow {measured.wall:.0f}s (local Spark {local['seconds']:.0f}s, "
        f"DuckDB {duckdb['seconds']:.0f}s), gold equal to DuckDB's {met(gold_equal)}, "
        f"executors per stage {met(spread)}: {'; '.join(rates)}"
    )
    return text, spread and gold_equal


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default="2026-09-01", help="the snapshot workflow's run date")
    parser.add_argument("--records", type=int, default=5_000_000, help="the scale run's records (0: none)")
    parser.add_argument("--scale-date", default="2026-09-15", help="the scale run's date")
    parser.add_argument("--snapshot", action=argparse.BooleanOptionalAction, default=True,
                        help="run part 1, the snapshot (--no-snapshot: only the scale run)")  # fmt: skip
    parser.add_argument(
        "--scale-workflow", help="measure this finished scale workflow instead of running one"
    )
    args = parser.parse_args()
    if reason := unavailable():
        raise SystemExit(f"cluster run: {reason}")
    if args.records:
        print(
            f"scale: synthetic bronze of {args.records:,} records in {bronze_folder(args.records)}",
            flush=True,
        )
        generate_bronze(args.records)  # made (or found) before any cluster time is spent
    results = [snapshot_runs(args.date)] if args.snapshot else []
    if args.records:
        results.append(scale_run(args.records, args.scale_date, args.scale_workflow))
    all_met = all(ok for _, ok in results)
    append_result("cluster run", " | ".join(text for text, _ in results) + f"; targets {met(all_met)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
