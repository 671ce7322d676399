"""The ``breweries`` command: run the pipeline, demo it offline, replay the API, show its state.

Exit codes are those of breweries.errors: 0 success, otherwise the failure's own code.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from breweries import __version__
from breweries.api.replay import Fault, ReplayServer, ReplayState, load_snapshot
from breweries.checks import QualityReport
from breweries.errors import EXIT_OK, PipelineError, StageError
from breweries.layout import Layout
from breweries.logs import configure_logging, get_logger
from breweries.notify import parse_workflow_failures, post_webhook, workflow_failure_message
from breweries.pipeline import STAGE_NAMES
from breweries.runner import RunPolicy, parse_stages, run_pipeline
from breweries.settings import Settings, env_name
from breweries.spark import LazySparkSession
from breweries.state import StageRun, StateStore
from breweries.tables import read_table
from breweries.transforms.gold import GOLD_SCHEMA

# Only for `breweries demo` on the bundled snapshot: real runs must bring their own secret key.
DEMO_PSEUDONYMIZATION_KEY = "breweries-demo-key-not-secret"


def _run_date(value: str) -> date:
    # A timestamp is accepted too (a scheduler's RFC 3339 time): its date part is the run date.
    try:
        return date.fromisoformat(value[:10] if len(value) > 10 and value[10] in "T " else value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--date must be YYYY-MM-DD, got {value!r}") from None


def _flag(value: str) -> bool:
    # The workflow passes its `force` parameter through as --force=true|false.
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise argparse.ArgumentTypeError(f"--force takes true or false, got {value!r}")


def _today() -> date:
    return datetime.now(timezone.utc).date()


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--date", type=_run_date, default=None, help="run date YYYY-MM-DD (default: today, UTC)"
    )
    parser.add_argument(
        "--force",
        nargs="?",
        const=True,
        default=False,
        type=_flag,
        help="redo stages already recorded as done for the date (also --force=true|false)",
    )
    parser.add_argument("--storage-root", help="overrides BREWERIES_STORAGE_ROOT")
    parser.add_argument("--api-url", help="overrides BREWERIES_API_URL")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="breweries", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"breweries {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the pipeline locally, all stages in one process")
    _add_run_flags(run)
    run.add_argument("--stages", help=f"comma list, run in pipeline order (default: {','.join(STAGE_NAMES)})")

    stage = commands.add_parser("stage", help="run one stage (a SparkApplication's entry point)")
    stage.add_argument("name", choices=STAGE_NAMES)
    _add_run_flags(stage)

    demo = commands.add_parser("demo", help="replay the bundled snapshot and run the whole pipeline on it")
    demo.add_argument("--port", type=int, default=0, help="replay port on 127.0.0.1 (default: a free one)")
    demo.add_argument(
        "--storage-root", default="./data/demo", help="where the demo writes (default: ./data/demo)"
    )
    demo.add_argument("--date", type=_run_date, default=None, help="run date (default: today, UTC)")
    demo.add_argument("--force", action="store_true", help="redo stages already done for the date")

    replay = commands.add_parser("api-replay", help="serve the snapshot like the Open Brewery DB API")
    replay.add_argument("--port", type=int, required=True, help="port on --host (0: a free one)")
    replay.add_argument("--host", default="127.0.0.1")
    replay.add_argument("--data", type=Path, help="snapshot CSV, gzipped or not (default: the bundled one)")
    replay.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    replay.add_argument(
        "--fault", action="append", default=[], type=Fault.parse, metavar="SPEC",
        help="inject a fault, e.g. kind=status,status=503,page=2,times=1 (repeatable)",
    )  # fmt: skip

    notify = commands.add_parser(
        "notify", help="the workflow's exit handler: post a failed workflow to BREWERIES_WEBHOOK_URL"
    )
    notify.add_argument("--status", required=True, help="{{workflow.status}}: Succeeded, Failed or Error")
    notify.add_argument("--workflow", required=True, help="{{workflow.name}}")
    notify.add_argument("--run-date", required=True, help="{{workflow.parameters.run-date}}")
    notify.add_argument("--failures", default="", help="{{workflow.failures}} (a JSON list)")
    notify.add_argument("--link", help="URL of the workflow in the Argo UI")

    status = commands.add_parser("status", help='show the "parameters" table: what is done, per stage')
    status.add_argument(
        "--date", type=_run_date, default=None, help="one run date (default: latest of each stage)"
    )
    status.add_argument("--storage-root", help="overrides BREWERIES_STORAGE_ROOT")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            storage_root=getattr(args, "storage_root", None), api_url=getattr(args, "api_url", None)
        )
    except PipelineError as exc:
        print(f"breweries: {exc}", file=sys.stderr)
        return exc.exit_code
    configure_logging(settings.log_format)
    handlers = {
        "run": _run,
        "stage": _stage,
        "demo": _demo,
        "api-replay": _api_replay,
        "status": _status,
        "notify": _notify,
    }
    try:
        return handlers[args.command](args, settings)
    except StageError as failure:  # the runner has logged it
        return failure.exit_code
    except PipelineError as exc:
        get_logger(command=args.command).error(str(exc))
        return exc.exit_code


def _execute(settings: Settings, run_date: date, stages: list[str], policy: RunPolicy) -> int:
    with LazySparkSession(settings, f"breweries-{run_date.isoformat()}") as spark:
        run_pipeline(settings, run_date, stages, policy, spark)
    return EXIT_OK


def _run(args: argparse.Namespace, settings: Settings) -> int:
    policy = RunPolicy(
        retries=settings.stage_retries,
        backoff_seconds=settings.stage_retry_backoff_seconds,
        notify=True,
        force=args.force,
    )
    return _execute(settings, args.date or _today(), parse_stages(args.stages), policy)


def _stage(args: argparse.Namespace, settings: Settings) -> int:
    # In a cluster, Argo owns retries and the workflow's exit handler owns notification.
    return _execute(settings, args.date or _today(), [args.name], RunPolicy(force=args.force))


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    log = get_logger(command="demo")
    run_date = args.date or _today()
    records = load_snapshot()
    with ReplayServer(ReplayState(records), port=args.port) as replay:
        log.info(f"serving the bundled Open Brewery DB snapshot ({len(records)} breweries) at {replay.url}")
        overrides: dict[str, object] = {"api_url": replay.url}
        if not settings.pseudonymization_key:
            log.warning(
                "using the built-in demo pseudonymization key; "
                "set BREWERIES_PSEUDONYMIZATION_KEY for real data"
            )
            overrides["pseudonymization_key"] = DEMO_PSEUDONYMIZATION_KEY
        demo_settings = Settings.from_env(**overrides, storage_root=args.storage_root)
        policy = RunPolicy(retries=0, notify=False, force=args.force)
        with LazySparkSession(demo_settings, "breweries-demo") as spark:
            try:
                run_pipeline(demo_settings, run_date, list(STAGE_NAMES), policy, spark)
            except StageError:
                _print_quality(demo_settings, run_date)
                raise
            _print_gold(spark(), demo_settings, run_date, len(records))
            _print_quality(demo_settings, run_date)
    return EXIT_OK


def _print_gold(spark: SparkSession, settings: Settings, run_date: date, served: int) -> None:
    gold = read_table(spark, Layout(settings).gold_uri(run_date), GOLD_SCHEMA)
    top = gold.orderBy(F.desc("brewery_count"), "country", "state", "brewery_type").limit(10).collect()
    total = gold.agg(F.sum("brewery_count")).first()[0]  # type: ignore[index]
    print(f"\ngold: breweries_by_type_location for {run_date} (top 10 of {gold.count()} rows)")
    columns = ("country", "state", "brewery_type", "brewery_count")
    print(format_table(columns, [[row[c] for c in columns] for row in top]))
    print(f"  sum of brewery_count: {total} (the replay served {served})")


def _print_quality(settings: Settings, run_date: date) -> None:
    uri = Layout(settings).quality_report_uri(run_date)
    store = settings.open_store()
    if store.exists(uri):
        print("\n" + QualityReport.from_json(store.read_bytes(uri)).summary())
        print(f"  report: {uri}")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Aligned plain-text columns; numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [
        any(isinstance(r[i], int | float) for r in rows)
        and all(isinstance(r[i], int | float) or r[i] == "" for r in rows)
        for i in range(len(headers))
    ]
    return "\n".join(
        "  "
        + "  ".join(
            c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric, strict=True)
        ).rstrip()
        for row in cells
    )


def _api_replay(args: argparse.Namespace, settings: Settings) -> int:
    records = load_snapshot(args.data)
    state = ReplayState(records, faults=args.fault, latency=args.latency)
    server = ReplayServer(state, host=args.host, port=args.port)
    # The one line a script waits for before it starts crawling.
    print(json.dumps({"url": server.url, "breweries": len(records)}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


def _notify(args: argparse.Namespace, settings: Settings) -> int:
    """Always exits 0: the workflow's outcome is its own, whatever happens to the notification."""
    log = get_logger(stage="notify", run_date=args.run_date, workflow=args.workflow)
    if args.status == "Succeeded":
        log.info("workflow succeeded: nothing to notify")
        return EXIT_OK
    failures = parse_workflow_failures(args.failures)
    log.error(f"workflow {args.status}", extra={"failures": failures})
    if not settings.webhook_url:
        log.warning(f"no webhook configured ({env_name('webhook_url')} is empty): failure not sent")
        return EXIT_OK
    message = workflow_failure_message(
        workflow=args.workflow,
        status=args.status,
        run_date=args.run_date,
        failures=failures,
        link=args.link,
        quality=_failed_quality_report(settings, args.run_date, failures, log),
    )
    post_webhook(settings.webhook_url, message)
    return EXIT_OK


def _failed_quality_report(
    settings: Settings, run_date: str, failures: list[dict[str, object]], log: logging.LoggerAdapter
) -> tuple[QualityReport, str] | None:
    """The gate's report when the quality step is what failed; None otherwise, or when unreadable."""
    if not any(f.get("templateName") == "quality" for f in failures):
        return None
    try:
        uri = Layout(settings).quality_report_uri(date.fromisoformat(run_date))
        report = QualityReport.from_json(settings.open_store().read_bytes(uri))
    except Exception as exc:  # the notification goes out whatever the state of the report
        log.warning(f"could not read the quality report: {type(exc).__name__}: {exc}")
        return None
    return (report, uri) if not report.passed else None


def _status(args: argparse.Namespace, settings: Settings) -> int:
    state = StateStore(settings.open_store(), settings.state_uri)
    runs = state.all_runs()
    if args.date:
        wanted = args.date.isoformat()
        rows: list[StageRun | str] = [
            next((r for r in runs if r.stage == s and r.run_date == wanted), s) for s in STAGE_NAMES
        ]
    else:
        latest = {r.stage: r for r in runs}  # runs are sorted by date: the last one wins
        rows = [latest.get(s, s) for s in STAGE_NAMES]
    columns = ("stage", "run_date", "finished_at (UTC)", "duration_s", "rows_in", "rows_out", "output")
    table = [
        [row, "-", "not done", "", "", "", ""]
        if isinstance(row, str)
        else [
            row.stage,
            row.run_date,
            row.finished_at[:19].replace("T", " "),
            round(row.duration_seconds, 1),
            row.rows_in,
            row.rows_out,
            row.output,
        ]
        for row in rows
    ]
    print(format_table(columns, table))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
