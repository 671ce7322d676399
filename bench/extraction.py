"""Extraction benchmark: crawl the full snapshot through the API replay with added latency.

For concurrency 1, 2, 4 and 8 it reports the wall time of a full bronze crawl (meta + 60 pages)
next to the ideal ``ceil(pages / concurrency) x latency`` measured against in the same run, and
the ratio. The client's own 120-requests-a-minute limit stays on, as in production.

    python bench/extraction.py [--latency 0.15] [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from breweries.api.client import BreweryApiClient, RateLimiter
from breweries.api.replay import ReplayServer, ReplayState, load_snapshot
from record import conclude

TARGET_RATIO_AT_4 = 1.3


def crawl_seconds(url: str, concurrency: int, per_page: int) -> tuple[float, int, int]:
    client = BreweryApiClient(
        url,
        timeout_seconds=30,
        max_attempts=3,
        backoff_seconds=0.5,
        concurrency=concurrency,
        rate_limiter=RateLimiter(120),
    )
    start = time.perf_counter()
    crawl = client.crawl(per_page)
    return time.perf_counter() - start, len(crawl.pages), crawl.record_count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.15, help="seconds added to every response")
    parser.add_argument("--quick", action="store_true", help="a 1,000-record smoke run")
    args = parser.parse_args()

    records = load_snapshot()
    if args.quick:
        records = records[:1000]
    rows = []
    with ReplayServer(ReplayState(records, latency=args.latency)) as replay:
        for concurrency in (1, 2, 4, 8):
            seconds, pages, fetched = crawl_seconds(replay.url, concurrency, per_page=200)
            assert fetched == len(records), f"crawl fetched {fetched} of {len(records)}"
            ideal = math.ceil(pages / concurrency) * args.latency
            rows.append((concurrency, pages, seconds, ideal, seconds / ideal))
        requests_served = replay.state.requests

    print(f"extraction: {len(records)} breweries, {args.latency * 1000:.0f} ms per response")
    print(f"{'concurrency':>11} {'pages':>6} {'wall_s':>8} {'ideal_s':>8} {'ratio':>6}")
    for concurrency, pages, seconds, ideal, ratio in rows:
        print(f"{concurrency:>11} {pages:>6} {seconds:>8.2f} {ideal:>8.2f} {ratio:>6.2f}")
    print(f"requests served: {requests_served} (each crawl is 1 meta + {rows[0][1]} pages, under 120/min)")
    at_4 = next(r for r in rows if r[0] == 4)[4]
    # The crawl also waits for /breweries/meta (one latency) before any page: the ideal leaves it out.
    return conclude(
        "extraction",
        quick=args.quick,
        met=at_4 <= TARGET_RATIO_AT_4,
        target=f"concurrency 4 within {TARGET_RATIO_AT_4}x of ideal",
        measured=f"{at_4:.2f}x",
        details=f"latency {args.latency * 1000:.0f} ms, {len(records)} breweries: "
        + ", ".join(f"c={c}: {s:.2f}s/{i:.2f}s={r:.2f}x" for c, _, s, i, r in rows),
    )


if __name__ == "__main__":
    sys.exit(main())
