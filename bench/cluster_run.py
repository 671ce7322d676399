"""Cluster run: where a workflow's time goes on the cluster of `make cluster-up`, stage by stage, next
to a local run of the same data measured in the same run.

The workflow is submitted as a user would (`argo submit --from workflowtemplate/breweries`, with
force=true so that every stage works), on the snapshot the chart's API replay serves. Each stage's
wall time (its Argo step, first pod start to last pod end) is split by the timestamps Kubernetes,
the Spark Operator and the stage's own JSON log lines record (Kubernetes' are whole seconds):

  step start    the step's pod starts and creates the SparkApplication
  submit        the operator runs spark-submit, which creates the driver pod
  pod start     the driver pod is scheduled and its container started
  driver start  the driver's JVM, Python and imports, up to the stage's "started" line
  spark start   the stage's SparkSession, when it starts one
  work          the stage itself ("finished" line's duration, without the session start)
  end           the driver exits, the operator records COMPLETED, Argo sees it

The reference is one cold local `breweries run` (bench/whole_run.py's) on the same records.

    python bench/cluster_run.py [--date 2026-07-01]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from breweries.api.replay import ReplayServer, ReplayState, load_snapshot
from breweries.pipeline import STAGES
from record import append_result
from whole_run import clean_env, run

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO))  # the cluster helpers the end-to-end tests use

from tests.e2e.cluster import component, get_json, kubectl, submit, unavailable  # noqa: E402

PARTS = ("step start", "submit", "pod start", "driver start", "spark start", "work", "end")


def when(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def log_lines(pod: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in kubectl("logs", pod).stdout.splitlines() if line.startswith("{")]


def stage_parts(node: dict[str, Any], application: dict[str, Any]) -> dict[str, float]:
    """Seconds per part of one stage's step (see the module's docstring)."""
    driver = get_json("pod", application["status"]["driverInfo"]["podName"])
    container = driver["status"]["containerStatuses"][0]["state"]["terminated"]
    logs = log_lines(driver["metadata"]["name"])
    began = when(next(e["ts"] for e in logs if e["message"] == "started"))
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
    return dict(zip(PARTS, parts, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default="2026-07-01", help="the run date of the workflow")
    args = parser.parse_args()
    if reason := unavailable():
        raise SystemExit(f"cluster run: {reason}")

    workflow = submit(
        "--from", "workflowtemplate/breweries", "-p", f"run-date={args.date}", "-p", "force=true"
    )
    status = workflow.wait()["status"]
    if status["phase"] != "Succeeded":
        raise SystemExit(f"workflow {workflow.name} ended {status['phase']}: {status.get('message')}")
    steps = {n["templateName"]: n for n in status["nodes"].values() if n["type"] == "Retry"}
    applications = {component(a): a for a in workflow.spark_applications()}
    cluster = {s.name: stage_parts(steps[s.component], applications[s.component]) for s in STAGES}
    cluster_wall = (when(status["finishedAt"]) - when(status["startedAt"])).total_seconds()

    with ReplayServer(ReplayState(load_snapshot())) as replay, tempfile.TemporaryDirectory() as root:
        env = clean_env(
            BREWERIES_API_URL=replay.url,
            BREWERIES_PSEUDONYMIZATION_KEY="bench-key-not-secret",
            BREWERIES_LOG_FORMAT="json",
            BREWERIES_STORAGE_ROOT=root,
        )
        local_wall, local_parts, _ = run(env, dict)

    print(f"cluster run: workflow {workflow.name}, {args.date}, force=true; seconds")
    print(f"{'stage':<18} {'step':>6} " + " ".join(f"{p:>12}" for p in PARTS) + f" {'local':>7}")
    for stage, parts in cluster.items():
        step = sum(parts.values())
        print(
            f"{stage:<18} {step:>6.0f} "
            + " ".join(f"{parts[p]:>12.1f}" for p in PARTS)
            + f" {local_parts[stage]:>7.1f}"
        )
    steps_total = sum(sum(parts.values()) for parts in cluster.values())
    ratio = cluster_wall / local_wall
    startup = local_parts["spark start-up"]
    print(f"workflow wall {cluster_wall:.0f} s (steps {steps_total:.0f} s; the rest is Argo between steps "
          f"and the exit handler); local run wall {local_wall:.1f} s "
          f"(Spark start-up {startup:.1f} s, apart from silver): {ratio:.1f}x")  # fmt: skip
    per_stage = "; ".join(
        f"{stage} {sum(parts.values()):.0f}s ({', '.join(f'{p} {parts[p]:.1f}' for p in PARTS)}; "
        f"local {local_parts[stage]:.1f}s)"
        for stage, parts in cluster.items()
    )
    append_result(
        "cluster run",
        f"workflow {cluster_wall:.0f}s wall / local run {local_wall:.1f}s = {ratio:.1f}x; {per_stage}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
