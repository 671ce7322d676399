"""``breweries demo``: the whole pipeline, offline, on the bundled snapshot served by the API replay."""

from __future__ import annotations

from datetime import date

from breweries.api.replay import ReplayServer, ReplayState, load_snapshot
from breweries.console import gold_summary, quality_summary
from breweries.errors import StageError
from breweries.lake.commits import Lake
from breweries.layout import Layout
from breweries.logs import get_logger
from breweries.pipeline import STAGE_NAMES
from breweries.quality import read_report
from breweries.runner import RunPolicy, run_pipeline
from breweries.settings import Settings
from breweries.spark import LazySparkSession
from breweries.stages.gold import GOLD

# Only for the bundled snapshot: real runs must bring their own secret key.
DEMO_PSEUDONYMIZATION_KEY = "breweries-demo-key-not-secret"


def run_demo(settings: Settings, *, storage_root: str, port: int, run_date: date, force: bool) -> None:
    """Serve the snapshot on 127.0.0.1, run every stage into ``storage_root``, print gold and quality."""
    log = get_logger(command="demo")
    records = load_snapshot()
    with ReplayServer(ReplayState(records), port=port) as replay:
        log.info(f"serving the bundled Open Brewery DB snapshot ({len(records)} breweries) at {replay.url}")
        key = settings.pseudonymization_key
        if not key:
            log.warning(
                "using the built-in demo pseudonymization key; "
                "set BREWERIES_PSEUDONYMIZATION_KEY for real data"
            )
            key = DEMO_PSEUDONYMIZATION_KEY
        demo = Settings.from_env(api_url=replay.url, storage_root=storage_root, pseudonymization_key=key)
        policy = RunPolicy(retries=0, notify=False, force=force)
        with LazySparkSession(demo, "breweries-demo") as spark:
            try:
                run_pipeline(demo, run_date, STAGE_NAMES, policy, spark)
            except StageError:
                _print_quality(demo, run_date)
                raise
            gold = Lake(spark(), demo).read(GOLD, run_date)  # through the catalog, as published
            print("\n" + gold_summary(gold, run_date, served=len(records)))
            _print_quality(demo, run_date)


def _print_quality(settings: Settings, run_date: date) -> None:
    found = read_report(settings.open_store(), Layout(settings), run_date)
    if found is not None:
        print("\n" + quality_summary(*found))
