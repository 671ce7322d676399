"""The API client against a real HTTP server on 127.0.0.1.

Full crawls, faults survived, short crawls refused.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from breweries.api.client import BreweryApiClient, RateLimiter, expected_page_sizes
from breweries.api.replay import Fault
from breweries.errors import ApiError

pytestmark = pytest.mark.faults


def closed_port_url() -> str:
    with socket.socket() as probe:  # a port nothing listens on: connecting is refused at once
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


class PageServer(ThreadingHTTPServer):
    """Answers every GET with one fixed page (status, content type, body), as a captive portal or a
    proxy's error page does; counts the requests."""

    def __init__(self, status: int, content_type: str, body: bytes) -> None:
        page = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page.requests += 1
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@pytest.fixture
def page_server():
    servers: list[PageServer] = []

    def start(status: int, content_type: str, body: bytes) -> PageServer:
        servers.append(PageServer(status, content_type, body))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


PORTAL = (
    b"<!DOCTYPE html>\n<html>\n  <head><title>\x1b[1mHotel WiFi \xe2\x80\x93 Sign in</title></head>\n"
    b"  <body><h1>Welcome!</h1><p>Accept the terms to continue.</p></body>\n</html>\n"
)


def client_for(server, *, attempts=4, timeout=5.0, concurrency=4, sleeps=None, rate=120):
    return BreweryApiClient(
        server if isinstance(server, str) else server.url,
        timeout_seconds=timeout,
        max_attempts=attempts,
        backoff_seconds=0.01,
        concurrency=concurrency,
        rate_limiter=RateLimiter(rate),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def crawled_records(crawl) -> list[dict]:
    return [record for page in crawl.pages for record in json.loads(page.body)]


def test_full_crawl_equals_the_snapshot(replay_of, snapshot):
    crawl = client_for(replay_of(snapshot)).crawl(per_page=200)
    assert crawl.meta_total == len(snapshot) and len(crawl.pages) == 60
    records = crawled_records(crawl)
    assert sorted(records, key=lambda r: r["id"]) == sorted(snapshot, key=lambda r: r["id"])
    assert [r["id"] for r in records] == sorted(r["id"] for r in snapshot)  # sort=id:asc asked


def test_429_waits_for_retry_after_and_5xx_are_retried(replay_of, snapshot):
    faults = [
        Fault("status", page=2, status=429, retry_after=1.5),
        Fault("status", page=3, status=500, times=2),
        Fault("status", page=4, status=503),
        Fault("status", target="meta", status=502),
    ]
    sleeps: list[float] = []
    crawl = client_for(replay_of(snapshot[:1000], faults), sleeps=sleeps).crawl(per_page=200)
    assert crawl.record_count == 1000
    assert 1.5 in sleeps  # the server's Retry-After, not the client's own backoff


def test_timeouts_resets_and_truncated_bodies_are_retried(replay_of, snapshot):
    faults = [
        Fault("delay", page=1, seconds=1.0),
        Fault("reset", page=2),
        Fault("truncate", page=3),
    ]
    crawl = client_for(replay_of(snapshot[:600], faults), timeout=0.3).crawl(per_page=200)
    assert crawl.record_count == 600
    by_id = sorted(snapshot[:600], key=lambda r: r["id"])
    assert crawl.pages[2].body == json.dumps(by_id[400:600], ensure_ascii=False).encode()  # as served


def test_a_refused_connection_gets_one_brief_retry_not_every_attempt():
    api, sleeps = closed_port_url(), []
    with pytest.raises(ApiError, match=r"cannot be reached: .* refused the connection \(tried 2x\)"):
        client_for(api, attempts=5, sleeps=sleeps).fetch_total()
    assert sleeps == [0.01]  # the first backoff step, once


def test_a_connection_reset_every_time_gets_every_attempt(replay_of, snapshot):
    server = replay_of(snapshot[:10], [Fault("reset", target="meta", times=0)])
    with pytest.raises(ApiError, match=r"meta of .* failed after 5 attempts: .* closed the connection"):
        client_for(server, attempts=5).fetch_total()
    assert server.state.requests == 5


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json"])
def test_an_html_page_instead_of_the_api_is_named_for_what_it_is_and_retried_once(page_server, content_type):
    # A captive portal, or a proxy that even labels its page JSON: not "Expecting value: line 1".
    server = page_server(200, content_type, PORTAL)
    with pytest.raises(ApiError) as failure:
        client_for(server.url, attempts=5).fetch_total()
    message = str(failure.value)
    assert message.startswith(
        f"the API at {server.url} did not answer with its JSON: {server.url}/breweries/meta answered "
        f'HTTP 200 {content_type}: "<!DOCTYPE html> <html> <head><title>?[1mHotel WiFi – Sign in</title>'
        f"</head> <...\", which is not the API's JSON (tried 2x): likely a captive portal"
    )
    assert "\n" not in message and "\x1b" not in message and "Expecting value" not in message
    assert "check BREWERIES_API_URL" in message
    assert server.requests == 2  # one brief retry: a portal does not go away in a second


def test_a_client_error_names_what_came_back_in_one_line(page_server):
    server = page_server(403, "text/html", b"<html>\n<h1>403 Forbidden</h1>\n<p>by the proxy</p></html>")
    with pytest.raises(ApiError) as failure:
        client_for(server.url).fetch_page(1, per_page=10, expected_records=10)
    assert str(failure.value).endswith(
        f"HTTP 403 for {server.url}/breweries?page=1&per_page=10&sort=id%3Aasc: text/html: "
        f'"<html> <h1>403 Forbidden</h1> <p>by the proxy</p></html>"'
    )
    assert server.requests == 1


def test_a_page_that_stays_short_fails_the_crawl_naming_it(replay_of, snapshot):
    server = replay_of(snapshot[:1000], [Fault("short", page=3, times=0, drop=5)])
    with pytest.raises(ApiError, match=r"page 3 .* failed after 3 attempts: .*195 records, expected 200"):
        client_for(server, attempts=3).crawl(per_page=200)


def test_a_page_short_once_is_fetched_again(replay_of, snapshot):
    crawl = client_for(replay_of(snapshot[:400], [Fault("short", page=1)])).crawl(per_page=200)
    assert crawl.record_count == 400


def test_persistent_server_errors_fail_with_the_page_and_status(replay_of, snapshot):
    server = replay_of(snapshot[:400], [Fault("status", page=2, status=500, times=0)])
    with pytest.raises(ApiError, match=r"page 2 .* failed after 2 attempts: HTTP 500"):
        client_for(server, attempts=2).crawl(per_page=200)


def test_a_page_the_client_gives_up_on_stops_the_crawl_without_asking_for_the_rest(replay_of, snapshot):
    # 10 pages, every one failing: once one has used its attempts, the pages not yet asked for are
    # not asked for (each would have spent its own attempts and waits before the error surfaced).
    faults = [Fault("status", target="list", status=503, times=0)]
    server = replay_of(snapshot[:2000], faults, latency=0.1)  # time for the crawl to see the failure
    with pytest.raises(ApiError, match=r"page \d+ .* failed after 2 attempts: HTTP 503"):
        client_for(server, attempts=2, concurrency=2).crawl(per_page=200)
    list_requests = server.state.requests - 2  # the meta total, before the pages and after
    assert list_requests <= 2 * 2 * 2  # at most two pages per worker started, 2 attempts each; not 10 x 2


def test_a_client_error_is_not_retried(replay_of, snapshot):
    server = replay_of(snapshot[:10])
    with pytest.raises(ApiError, match="HTTP 422"):
        client_for(server).fetch_page(1, per_page=500, expected_records=10)
    assert server.state.requests == 1


def test_an_empty_source_is_one_empty_page(replay_of):
    crawl = client_for(replay_of([])).crawl(per_page=200)
    assert crawl.meta_total == 0 and [p.body for p in crawl.pages] == [b"[]"]


def test_expected_page_sizes():
    assert expected_page_sizes(0, 200) == [0]
    assert expected_page_sizes(400, 200) == [200, 200]
    assert expected_page_sizes(11822, 200)[-1] == 22 and len(expected_page_sizes(11822, 200)) == 60


def test_rate_limiter_never_lets_more_than_the_limit_start_in_a_window():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, window_seconds=60, clock=lambda: now[0], sleep=sleep)
    for _ in range(7):
        limiter.acquire()
    assert waits == [60.0, 60.0]  # requests 4 and 7 wait for the window to move
