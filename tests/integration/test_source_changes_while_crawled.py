"""A source that changes under the crawl, or whose meta total disagrees with its pages.

Each case ends in one of two ways: exactly the records the replay holds (no duplicate, none missing,
the manifest agreeing), or an error that names the page and the cause with nothing stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.integration.pipeline_env import pipeline_env

from breweries.api.client import BreweryApiClient, RateLimiter
from breweries.api.replay import Fault
from breweries.cli import main
from breweries.errors import EXIT_OK, ApiError

pytestmark = pytest.mark.faults

RUN_DATE = "2026-02-01"


def client_for(server, attempts: int = 3) -> BreweryApiClient:
    return BreweryApiClient(
        server.url,
        timeout_seconds=5.0,
        max_attempts=attempts,
        backoff_seconds=0.0,
        concurrency=4,
        rate_limiter=RateLimiter(10_000),
        sleep=lambda s: None,
    )


def crawled_ids(crawl) -> list[str]:
    return [record["id"] for page in crawl.pages for record in json.loads(page.body)]


@pytest.mark.parametrize("change", ["insert", "remove"])
def test_a_record_added_or_removed_mid_crawl_leads_to_a_clean_recrawl(replay_of, snapshot, change):
    server = replay_of(snapshot[:1000], [Fault(change, page=3)])
    crawl = client_for(server).crawl(per_page=200)
    served = sorted(r["id"] for r in server.state.records)
    assert len(served) == (1001 if change == "insert" else 999)  # the change did happen
    assert crawled_ids(crawl) == served  # every record once, in order: none twice, none missing
    assert crawl.meta_total == crawl.record_count == len(served)


def test_a_source_that_never_holds_still_fails_saying_so(replay_of, snapshot):
    server = replay_of(snapshot[:600], [Fault("insert", page=2, times=0)])
    with pytest.raises(
        ApiError,
        match=r"source changed while crawling: meta total \d+ before the pages, \d+ after \(3 crawls",
    ):
        client_for(server).crawl(per_page=200)


@pytest.mark.parametrize(
    ("off_by", "page", "cause"),
    [
        (5, 6, "0 records, expected 5"),  # the total promises a sixth page that is empty
        (-3, 5, "200 records, expected 197"),  # the last page holds more than the total allows
        (-200, 5, "200 records, expected 0"),  # the pages go on past a total that ends on a full page
    ],
)
def test_a_meta_total_that_disagrees_with_the_pages_fails_naming_the_page(
    replay_of, snapshot, off_by, page, cause
):
    server = replay_of(snapshot[:1000], [Fault("miscount", target="meta", by=off_by, times=0)])
    with pytest.raises(ApiError, match=rf"page {page} .*: malformed response: {cause} from the meta total"):
        client_for(server).crawl(per_page=200)


def bronze_files(root: Path) -> dict[str, bytes]:
    folder = root / "bronze" / "breweries" / f"ingest_date={RUN_DATE}"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def test_bronze_after_a_mid_crawl_insert_stores_exactly_the_served_records(
    tmp_path, monkeypatch, replay_of, snapshot
):
    server = replay_of(snapshot[:1000], [Fault("insert", page=4)])
    pipeline_env(monkeypatch, tmp_path, server.url)
    assert main(["run", "--date", RUN_DATE, "--stages", "bronze"]) == EXIT_OK

    files = bronze_files(tmp_path)
    manifest = json.loads(files.pop("_manifest.json"))
    stored = [r["id"] for body in files.values() for r in json.loads(body)]
    assert sorted(stored) == sorted(r["id"] for r in server.state.records) and len(set(stored)) == 1001
    assert manifest["record_count"] == manifest["meta_total"] == 1001
    assert sum(p["records"] for p in manifest["pages"]) == 1001 and len(manifest["pages"]) == len(files)


def test_a_failed_crawl_leaves_the_dates_previous_bronze_and_state_untouched(
    tmp_path, monkeypatch, replay_of, snapshot
):
    good = replay_of(snapshot[:500])
    pipeline_env(monkeypatch, tmp_path, good.url, BREWERIES_STAGE_RETRIES="0")
    assert main(["run", "--date", RUN_DATE, "--stages", "bronze"]) == EXIT_OK
    before = bronze_files(tmp_path)
    state = tmp_path / "_state" / "bronze" / f"run_date={RUN_DATE}.json"
    recorded = state.read_bytes()

    lying = replay_of(snapshot[:500], [Fault("miscount", target="meta", by=-100, times=0)])
    monkeypatch.setenv("BREWERIES_API_URL", lying.url)
    assert main(["run", "--date", RUN_DATE, "--stages", "bronze", "--force"]) == ApiError.exit_code

    assert bronze_files(tmp_path) == before  # every page and the manifest, byte for byte
    assert not list(tmp_path.rglob("_staging"))
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and "_candidates" in p.parts]
    # A record is only replaced by a newer success: the date's crawl is still the one recorded.
    assert state.read_bytes() == recorded
