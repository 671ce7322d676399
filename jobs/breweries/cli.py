"""The ``breweries`` command: parsing and dispatch. What each command does lives in its own module.

Exit codes are those of :mod:`breweries.errors`: 0 on success, otherwise the failure's own code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path

from breweries import __version__, access
from breweries.api.replay import Fault, serve
from breweries.cluster import cleanup_workflow, record_failure
from breweries.console import query_output, status_table, tables_output
from breweries.demo import run_demo
from breweries.errors import EXIT_OK, PipelineError, StageError
from breweries.history import serve_history
from breweries.lake.catalog import naming_a_locked_catalog
from breweries.lake.query import list_tables, run_sql
from breweries.logs import configure_logging, get_logger
from breweries.maintain import run_maintenance
from breweries.notify import notify_workflow_outcome
from breweries.pipeline import STAGE_NAMES
from breweries.runner import RunPolicy, execute, parse_stages
from breweries.settings import Settings
from breweries.state import StateStore


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


# What `breweries --help` says first, to a user.
DESCRIPTION = (
    "Runs the Open Brewery DB medallion pipeline: the API's breweries become Iceberg tables, stage "
    f"by stage ({' -> '.join(STAGE_NAMES)}), locally in one process or as Spark jobs on "
    "Kubernetes. Start with `breweries demo`: it needs no network and no settings."
)
EPILOG = (
    "`breweries COMMAND --help` shows a command's flags. Settings come from BREWERIES_* variables "
    "(README.md, Configuration)."
)


class _CommandParser(argparse.ArgumentParser):
    """A command's parser: a flag it does not know is its own error, shown with its own usage.

    argparse leaves a command's unknown arguments to the top-level parser, whose usage says nothing
    of the command's flags.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="breweries", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"breweries {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser
    )

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
    notify.add_argument(
        "--run-date", required=True, help="{{workflow.parameters.run-date}}, or START..END for a backfill"
    )
    notify.add_argument("--failures", default="", help="{{workflow.failures}} (a JSON list)")
    notify.add_argument("--link", help="URL of the workflow in the Argo UI")

    history = commands.add_parser(
        "history-server", help="Spark's History Server on the event logs of BREWERIES_SPARK_EVENT_LOG_URI"
    )
    history.add_argument(
        "--port", type=int, default=18080, help="port of its UI and REST API (default: 18080)"
    )
    history.add_argument(
        "--update-interval", default="10s", help="how often it looks for new logs (default: 10s)"
    )

    cleanup = commands.add_parser(
        "cleanup", help="the workflow's exit handler: delete its SparkApplications that still run"
    )
    cleanup.add_argument("--workflow", required=True, help="{{workflow.name}}")

    status = commands.add_parser("status", help='show the "parameters" table: what is done, per stage')
    status.add_argument(
        "--date", type=_run_date, default=None, help="one run date (default: latest of each stage)"
    )
    status.add_argument("--storage-root", help="overrides BREWERIES_STORAGE_ROOT")

    tables = commands.add_parser("tables", help="list the tables: identifier, snapshot, rows, metadata file")
    tables.add_argument("--format", choices=("table", "json"), default="table")
    tables.add_argument("--storage-root", help="overrides BREWERIES_STORAGE_ROOT")

    sql = commands.add_parser(
        "sql",
        help="run SQL on the tables, embedded (DuckDB): SELECT * FROM gold.breweries_by_type_location",
    )
    sql.add_argument("query", help="tables are named <namespace>.<table>: see `breweries tables`")
    sql.add_argument("--format", choices=("table", "json", "csv"), default="table")
    sql.add_argument("--storage-root", help="overrides BREWERIES_STORAGE_ROOT")

    maintain = commands.add_parser(
        "maintain", help="expire snapshots older than the retention, remove orphan files, compact small files"
    )
    maintain.add_argument("--storage-root", help="overrides BREWERIES_STORAGE_ROOT")

    policies = commands.add_parser(
        "access-policies",
        help="what each identity (stage, maintain, notify, trino, analyst) may do on the buckets: "
        "MinIO or AWS IAM policies, or their docs",
    )
    policies.add_argument(
        "--format", choices=("minio", "iam", "markdown"), default="minio",
        help="minio: policy documents by MinIO policy name; iam: `aws iam create-policy --cli-input-json` "
        "input; markdown: docs/iam-policies.md",
    )  # fmt: skip
    policies.add_argument("--identity", help="only this identity's document (e.g. gold, silver-anonymized)")
    policies.add_argument(
        "--output-dir", type=Path, help="write one file per identity, <identity>.json, instead of printing"
    )
    policies.add_argument("--list", action="store_true", help="print the identities' names, one a line")
    policies.add_argument("--storage-root", help="overrides BREWERIES_STORAGE_ROOT")
    return parser


# The commands that touch the object store with the credential the chart gives them.
_STORE_COMMANDS = ("run", "stage", "maintain", "status", "tables", "sql", "history-server")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            storage_root=getattr(args, "storage_root", None), api_url=getattr(args, "api_url", None)
        )
    except PipelineError as exc:
        # Still a log line in the configured format and, from a driver, the retry rule on its
        # SparkApplication: else Argo retries a setting that no retry can fix.
        configure_logging("json" if Settings.raw_from_env("log_format") == "json" else "text")
        get_logger(command=args.command).error(str(exc))
        if args.command == "stage":
            record_failure(exc, Settings.raw_from_env("spark_application"))
        return exc.exit_code
    configure_logging(settings.log_format)
    for warning in settings.env_warnings:
        get_logger(command=args.command).warning(warning)
    try:
        with naming_a_locked_catalog(settings), access.naming_denied_access(settings):
            if args.command in _STORE_COMMANDS:
                settings.require_s3_credentials()
            _dispatch(args, settings)
    except StageError as failure:  # the runner has logged it
        if args.command == "stage":  # a SparkApplication's driver: tell the workflow's exit handler
            record_failure(failure.cause, settings.spark_application)  # and its retry rule
        return failure.exit_code
    except PipelineError as exc:
        get_logger(command=args.command).error(str(exc))
        if args.command == "stage":  # failed before the stage started (a missing credential)
            record_failure(exc, settings.spark_application)
        return exc.exit_code
    return EXIT_OK


def _dispatch(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "run":
        policy = RunPolicy(
            retries=settings.stage_retries,
            backoff_seconds=settings.stage_retry_backoff_seconds,
            notify=True,
            force=args.force,
        )
        execute(settings, args.date or _today(), parse_stages(args.stages), policy)
    elif args.command == "stage":
        # In a cluster, Argo owns retries and the workflow's exit handler owns notification.
        execute(settings, args.date or _today(), [args.name], RunPolicy(force=args.force))
    elif args.command == "demo":
        run_demo(
            settings, storage_root=args.storage_root, port=args.port, run_date=args.date or _today(),
            force=args.force,
        )  # fmt: skip
    elif args.command == "api-replay":
        serve(args.data, host=args.host, port=args.port, latency=args.latency, faults=args.fault)
    elif args.command == "notify":
        notify_workflow_outcome(
            settings, status=args.status, workflow=args.workflow, run_date=args.run_date,
            failures=args.failures, link=args.link,
        )  # fmt: skip
    elif args.command == "history-server":
        serve_history(settings, args.port, args.update_interval)
    elif args.command == "cleanup":
        cleanup_workflow(args.workflow)
    elif args.command == "status":
        state = StateStore(settings.open_store(), settings.state_uri)
        print(status_table(state.status(args.date)))
    elif args.command == "tables":
        print(tables_output(list_tables(settings), args.format))
    elif args.command == "sql":
        print(query_output(*run_sql(settings, args.query), args.format))
    elif args.command == "maintain":
        run_maintenance(settings)
    elif args.command == "access-policies":
        if args.list:
            print("\n".join(access.identity_names()))
        elif args.output_dir:
            for path in access.write_policies(settings, args.format, args.output_dir):
                print(path)
        else:
            print(access.output(settings, args.format, args.identity))


if __name__ == "__main__":
    sys.exit(main())
