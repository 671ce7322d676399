"""Bronze: every page of the API, stored byte for byte as received, with a manifest.

The first crawl of a date is stored in the date's folder. A later crawl of the same date (a forced
rerun) is stored beside it, as a candidate: it replaces the published crawl only when the quality
gate passes the silver built from it, so a source that suddenly serves nothing replaces nothing.
"""

from __future__ import annotations

import logging

from breweries.api.client import SORT_ORDER, BreweryApiClient, RateLimiter
from breweries.layout import MANIFEST_NAME, abandoned_staging_prefix, bronze_candidate_prefix, staging_for
from breweries.manifest import Manifest, page_file_name
from breweries.settings import Settings
from breweries.stages.base import StageContext, StageResult
from breweries.storage import join_uri


def api_client(settings: Settings, log: logging.LoggerAdapter) -> BreweryApiClient:
    return BreweryApiClient(
        settings.api_url,
        timeout_seconds=settings.http_timeout_seconds,
        max_attempts=settings.http_max_attempts,
        backoff_seconds=settings.http_backoff_seconds,
        concurrency=settings.http_concurrency,
        rate_limiter=RateLimiter(settings.rate_limit_per_minute),
        log=log,
    )


def run(ctx: StageContext) -> StageResult:
    crawl = api_client(ctx.settings, ctx.log).crawl(ctx.settings.page_size)
    manifest = Manifest.from_crawl(crawl, ctx.run_date.isoformat(), SORT_ORDER)
    published = ctx.layout.bronze_uri(ctx.run_date)
    if ctx.store.exists(join_uri(published, MANIFEST_NAME)):
        final = bronze_candidate_prefix(published) + ctx.run_id
    else:
        final = published
    staging = staging_for(published, ctx.run_id)
    try:
        for page in crawl.pages:
            ctx.store.write_bytes(join_uri(staging, page_file_name(page.number)), page.body)
        # Written last: a folder with a manifest holds every page the manifest lists.
        ctx.store.write_bytes(join_uri(staging, MANIFEST_NAME), manifest.to_json())
        # Earlier candidates of the date go: this crawl is the one the gate is to judge now.
        ctx.store.delete_trees_named(bronze_candidate_prefix(published))
        ctx.store.replace_tree(staging, final)
    finally:
        # This run's staging, and any that a killed run of the date left behind.
        ctx.store.delete_trees_named(abandoned_staging_prefix(published))
    ctx.log.info(
        "stored the API's pages",
        extra={
            "pages": len(crawl.pages),
            "records": crawl.record_count,
            "output": final,
            "candidate": final != published,
        },
    )
    return StageResult(
        rows_in=crawl.meta_total,
        rows_out=crawl.record_count,
        output=final,
        # bytes: how much Spark will read from it (breweries.runner.spark_in_driver).
        details={
            "pages": len(crawl.pages),
            "meta_total": crawl.meta_total,
            "bytes": sum(p.bytes for p in manifest.pages),
        },
    )
