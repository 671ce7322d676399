"""Publishing audited output: what a passing quality gate makes visible to readers.

Audited tables are on the date's audit branch: ``main`` is moved to the audited snapshot
(:meth:`breweries.lake.commits.Lake.publish`). An audited crawl sits beside the published one: it is
moved over it. Tables go first, so that bronze is never newer than the silver built from it.
Publishing the same output twice changes nothing, so a publisher killed half-way is simply rerun.
"""

from __future__ import annotations

from dataclasses import replace

from breweries.pipeline import stage, table
from breweries.stages.base import StageContext
from breweries.state import StageRun, StateStore


def publish_audited(ctx: StageContext, state: StateStore, upstream: dict[str, StageRun]) -> dict[str, int]:
    """Publish the output of the stages ``ctx.stage`` publishes; {table: its new main snapshot}."""
    published: dict[str, int] = {}
    for name in ctx.stage.publishes:
        for identifier, snapshot_id in upstream[name].snapshots.items():
            commit = ctx.lake.publish(table(identifier), ctx.run_date, snapshot_id, ctx.run_id)
            published[identifier] = commit.snapshot_id
    for name in ctx.stage.publishes:
        run = upstream[name]
        if stage(name).writes:
            continue
        final = ctx.layout.bronze_uri(ctx.run_date)
        if run.output != final:
            ctx.store.replace_tree(run.output, final)
            state.record(replace(run, output=final))
    if published:
        ctx.log.info("published the audited tables", extra={"snapshots": published})
    return published
