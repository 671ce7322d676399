"""Running stages for a run date: skip what is done, check inputs, retry, record, notify.

The same code runs one stage in a SparkApplication (no local retries: Argo retries the step, and the
workflow's exit handler notifies) and the whole chain in one local process.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from functools import partial

from pyspark.sql import SparkSession

from breweries.access import naming_denied_access
from breweries.errors import DataQualityError, SettingsError, StageError, can_retry, describe
from breweries.lake.catalog import naming_a_locked_catalog
from breweries.lineage import Lineage
from breweries.logs import get_logger
from breweries.notify import failure_message, post_webhook
from breweries.pipeline import STAGE_NAMES, stage
from breweries.publishing import publish_audited
from breweries.settings import Settings, env_name, not_set
from breweries.spark import LazySparkSession
from breweries.stages.base import Stage, StageContext
from breweries.state import StageRun, StateStore
from breweries.storage import local_path


@dataclass(frozen=True)
class RunPolicy:
    retries: int = 0
    backoff_seconds: float = 2.0
    notify: bool = False
    force: bool = False


def parse_stages(value: str | None) -> list[str]:
    """``"gold,bronze"`` -> ``["bronze", "gold"]``: stages always run in pipeline order."""
    if not value:
        return list(STAGE_NAMES)
    wanted = {s.strip() for s in value.split(",") if s.strip()}
    unknown = wanted - set(STAGE_NAMES)
    if unknown:
        raise SettingsError(
            f"--stages: unknown stage {', '.join(sorted(unknown))}; known: {', '.join(STAGE_NAMES)}"
        )
    return [s for s in STAGE_NAMES if s in wanted]


def run_stage(
    ctx: StageContext, state: StateStore, force: bool, lineage: Lineage | None = None
) -> StageRun | None:
    """Run ``ctx.stage`` unless it is already done for the date from its inputs; None when skipped.

    Nothing is recorded or unrecorded before the stage succeeds: a failed attempt leaves the date's
    records, and what readers see, as they were. ``lineage`` hears of each attempt that starts.
    """
    with naming_denied_access(ctx.settings):  # a denial names the identity: retrying cannot help
        return _run_stage(ctx, state, force, lineage or Lineage(ctx.settings))


def _run_stage(ctx: StageContext, state: StateStore, force: bool, lineage: Lineage) -> StageRun | None:
    name = ctx.stage.name
    if not force and (done := state.current(name, ctx.run_date)) is not None:
        ctx.log.info(
            "already done for this date: skipped (use --force to redo)",
            extra={"finished_at": done.finished_at},
        )
        return None
    upstream = state.upstream_runs(name, ctx.run_date)
    ctx = replace(
        ctx,
        bronze_uri=upstream["bronze"].output if "bronze" in upstream else "",
        audited_snapshots={t: s for u in ctx.stage.publishes for t, s in upstream[u].snapshots.items()},
        commits={},
    )
    started_at, clock = datetime.now(timezone.utc), time.monotonic()
    ctx.log.info("started")
    if ctx.settings.spark_submitted and ctx.settings.spark_event_log_uri and not uses_spark(ctx.stage):
        # Its SparkApplication is an application in the History Server like every other stage's.
        ctx.spark_factory()
    lineage_run = lineage.started(ctx, upstream)
    try:
        with naming_a_locked_catalog(ctx.settings):
            result = ctx.stage.run(ctx)
            published = publish_audited(ctx, state, upstream)
        run = StageRun(
            stage=name,
            run_date=ctx.run_date.isoformat(),
            started_at=started_at.isoformat(),
            finished_at=datetime.now(timezone.utc).isoformat(),
            duration_seconds=round(time.monotonic() - clock, 3),
            rows_in=result.rows_in,
            rows_out=result.rows_out,
            output=result.output,
            details=result.details,
            run_id=ctx.run_id,
            inputs={u: r.run_id for u, r in upstream.items()},
            snapshots={**{t: c.snapshot_id for t, c in ctx.commits.items()}, **published},
        )
        state.record(run)
    except Exception as exc:
        lineage.failed(ctx, upstream, lineage_run, exc)
        raise
    lineage.completed(ctx, upstream, lineage_run, run)
    ctx.log.info(
        "finished",
        extra={"rows_in": run.rows_in, "rows_out": run.rows_out, "duration_seconds": run.duration_seconds},
    )
    return run


def run_pipeline(
    settings: Settings,
    run_date: date,
    stages: Iterable[str],
    policy: RunPolicy,
    spark_factory: Callable[[], SparkSession],
    sleep: Callable[[float], None] = time.sleep,
) -> list[StageRun | None]:
    """Run ``stages`` in order for ``run_date``; raise :class:`StageError` at the first failure.

    Raises :class:`~breweries.errors.SettingsError`, running nothing, when a chosen stage needs a
    setting that is not set, and :class:`~breweries.errors.RunDateBusyError`, running nothing, while
    another process runs the same date on the same local storage.
    """
    chosen = list(stages)
    check_settings(settings, chosen)
    _check_local_folders(settings)
    store = settings.open_store()
    state = StateStore(store, settings.state_uri)
    runs: list[StageRun | None] = []
    lineage = Lineage(settings)  # one parent run for the stages of this run
    # Held across the stages: another run of the date must not rewrite their inputs meanwhile.
    with store.run_date_lock(settings.state_uri, run_date):
        for name in chosen:
            ctx = StageContext(
                stage=stage(name),
                settings=settings,
                run_date=run_date,
                store=store,
                run_id=uuid.uuid4().hex[:12],
                log=get_logger(stage=name, run_date=run_date.isoformat()),
                spark_factory=spark_factory,
            )
            try:
                attempt = partial(run_stage, ctx, state, policy.force, lineage)
                runs.append(_with_retries(attempt, ctx, policy, sleep))
            except Exception as exc:
                failure = StageError(name, run_date, exc)
                ctx.log.error(str(failure), extra={"error_type": type(exc).__name__})
                if policy.notify and settings.webhook_url:
                    post_webhook(settings.webhook_url, _failure_message(name, run_date, exc))
                raise failure from exc
    return runs


def check_settings(settings: Settings, stages: Sequence[str]) -> None:
    """Every setting the chosen stages need (:attr:`Stage.needs`) is set, and each stage's own check
    of them passes: before the first stage starts, and before anything is written. A stage left out
    needs nothing."""
    chosen = [stage(name) for name in stages]
    needed_by: dict[str, list[str]] = {}
    for s in chosen:
        for setting in s.needs:
            if not getattr(settings, setting):
                needed_by.setdefault(setting, []).append(s.name)
    if needed_by:
        # What still runs without them: the chosen stages before the first that needs one.
        first = min(STAGE_NAMES.index(names[0]) for names in needed_by.values())
        before = [s.name for s in chosen if STAGE_NAMES.index(s.name) < first]
        instead = f"run --stages {','.join(before)}" if before else ""
        errors = [not_set(setting, names, instead) for setting, names in needed_by.items()]
        raise SettingsError("; ".join(str(e) for e in errors))
    for s in chosen:
        if s.check is not None:
            s.check(settings)


def _check_local_folders(settings: Settings) -> None:
    """The storage root can be made, and every local layer's folder, or the folder it will be made
    in, takes a file: checked before any stage, so that a root under a file or a read-only place is
    one clear error, not a stage's traceback. No layer's folder is made before its stage writes."""
    if settings.on_object_storage:
        return
    for name, uri in settings.layer_uris.items():
        folder = local_path(uri)
        try:
            if name == "storage_root":
                folder.mkdir(parents=True, exist_ok=True)
            existing = next(p for p in (folder, *folder.parents) if p.exists())
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            raise SettingsError(
                f"{env_name(name)} is {folder}, where this user cannot create or write a folder "
                f"({exc.strerror}): choose another place (--storage-root)"
            ) from None


def _with_retries(
    attempt: Callable[[], StageRun | None],
    ctx: StageContext,
    policy: RunPolicy,
    sleep: Callable[[float], None],
) -> StageRun | None:
    # The cluster's policy, applied locally: `retries` more attempts, backoff doubling from 2 s.
    for number in range(policy.retries + 1):
        try:
            return attempt()
        except Exception as exc:
            if number == policy.retries or not can_retry(exc):
                raise
            delay = policy.backoff_seconds * 2**number
            ctx.log.warning(
                f"attempt {number + 1} failed, retrying in {delay:g} s: {describe(exc)}",
                extra={"error_type": type(exc).__name__},
            )
            sleep(delay)
    raise AssertionError("unreachable")


def _failure_message(stage: str, run_date: date, exc: BaseException) -> dict[str, object]:
    details = exc.report.failure_details(exc.report_uri) if isinstance(exc, DataQualityError) else {}
    return failure_message(run_date=run_date.isoformat(), stage=stage, error=describe(exc), details=details)


def execute(settings: Settings, run_date: date, stages: Iterable[str], policy: RunPolicy) -> None:
    """:func:`run_pipeline` with a SparkSession started on first need and stopped at the end."""
    chosen = list(stages)
    in_driver = partial(spark_in_driver, settings, run_date, chosen)
    with LazySparkSession(settings, application_name(settings, run_date, chosen), in_driver) as spark:
        run_pipeline(settings, run_date, chosen, policy, spark)


def application_name(settings: Settings, run_date: date, stages: Sequence[str]) -> str:
    """The Spark application's name, as the History Server lists it: one stage's (a
    SparkApplication) is ``breweries-<stage>-<date>``, then the workflow's name when it runs in one;
    a local run of several stages is one application, ``breweries-<date>``."""
    parts = ["breweries", *(stages if len(stages) == 1 else []), run_date.isoformat()]
    if settings.workflow_name:
        parts.append(settings.workflow_name)
    return "-".join(parts)


def uses_spark(s: Stage) -> bool:
    """Whether a stage does Spark work: it reads or commits tables. Bronze only crawls and writes
    objects."""
    return bool(s.reads or s.writes)


def spark_in_driver(settings: Settings, run_date: date, stages: Sequence[str] = ()) -> bool:
    """Whether a submitted stage runs Spark inside its driver: the date's bronze is smaller than
    ``BREWERIES_SPARK_EXECUTORS_ABOVE``. Every later stage's input is derived from those pages, so
    their size stands for all of them; bronze's record says it (the state, which every stage may
    read, unlike bronze's own bucket). A stage that does no Spark work (its session is only its
    event log) never waits for executors."""
    if not settings.spark_submitted:
        return False
    if stages and not any(uses_spark(stage(name)) for name in stages):
        get_logger(component="spark", run_date=run_date.isoformat()).info(
            "spark runs inside the driver: the stage does no Spark work"
        )
        return True
    bronze = StateStore(settings.open_store(), settings.state_uri).get("bronze", run_date)
    size = bronze.details.get("bytes") if bronze is not None else None
    log = get_logger(component="spark", run_date=run_date.isoformat())
    if not isinstance(size, int):  # no bronze, or one recorded before its size was
        log.info("spark runs on the executors: bronze's size for the date is not recorded")
        return False
    in_driver = size < settings.spark_executors_above_bytes
    log.info(
        "spark runs inside the driver" if in_driver else "spark runs on the executors",
        extra={"bronze_bytes": size, "executors_above": settings.spark_executors_above},
    )
    return in_driver
