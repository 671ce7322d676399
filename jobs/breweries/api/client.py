"""A polite, patient client for the Open Brewery DB list API.

Polite: bounded concurrency and at most ``rate_limit_per_minute`` requests in any 60 s window.
Patient with what passes: 5xx, read timeouts, reset connections and malformed bodies are retried with
exponential backoff, ``max_attempts`` in all; 429 waits for ``Retry-After``. Quick about what does
not: when no connection can be made (refused, unknown host, TLS handshake, connect timeout), or what
answers is not the API's JSON (an HTML page: a captive portal, a proxy), the request is tried
``UNREACHABLE_ATTEMPTS`` times at most (docs/failures.md has the policy).
Strict: a page must hold exactly the records the meta total implies, or the crawl fails naming the
page; a source that changes while it is crawled is crawled again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from breweries.errors import ApiError
from breweries.logs import get_logger

MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 120.0
SORT_ORDER = "id:asc"  # without an explicit order, pages can overlap or skip rows between requests
CRAWL_ATTEMPTS = 3  # whole crawls tried while the source keeps changing under them
# Requests tried when no connection could be made at all, or what answered is not the API: one brief
# retry (after the first backoff step) covers a blip; a closed port, an unknown host or a captive
# portal is the same a minute later.
UNREACHABLE_ATTEMPTS = 2
SNIPPET_CHARS = 80  # of a body that is not the API's JSON, quoted in the error


class _RetryableError(Exception):
    def __init__(self, reason: str, wait_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.wait_seconds = wait_seconds


class _NotTheApiError(Exception):
    """An answer that is not the API's JSON at all (an HTML page): retried briefly, like no answer."""


@dataclass(frozen=True)
class Page:
    number: int
    body: bytes  # exactly as received
    record_count: int
    field_names: frozenset[str] = frozenset()  # every key its records carry, to spot schema drift

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class Crawl:
    api_url: str
    meta_total: int
    per_page: int
    pages: tuple[Page, ...]
    fetched_at: datetime

    @property
    def record_count(self) -> int:
        return sum(p.record_count for p in self.pages)

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset().union(*(p.field_names for p in self.pages))


class RateLimiter:
    """At most ``max_requests`` request starts in any sliding window of ``window_seconds``."""

    def __init__(
        self,
        max_requests: int,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._max = max_requests
        self._window = window_seconds
        self._clock, self._sleep = clock, sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self._window:
                    self._starts.popleft()
                if len(self._starts) < self._max:
                    self._starts.append(now)
                    return
                wait = self._window - (now - self._starts[0])
            self._sleep(wait)


def describe_connection_failure(exc: requests.RequestException, url: str, timeout_seconds: float) -> str:
    """One short clause for a request that got no HTTP answer, instead of urllib3's nested repr."""
    where = urlsplit(url)
    host = where.hostname or url
    address = where.netloc or url
    reason = str(exc)
    if isinstance(exc, requests.Timeout):
        return f"{address} did not answer within {timeout_seconds:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"the TLS handshake with {address} failed"
    if isinstance(exc, requests.ConnectionError):
        if any(sign in reason for sign in ("NameResolutionError", "not known", "name resolution")):
            return f"cannot resolve the host name {host}"
        if "Connection refused" in reason:
            return f"{address} refused the connection"
        if "reset" in reason.lower() or "RemoteDisconnected" in reason or "aborted" in reason.lower():
            return f"{address} closed the connection"
        return f"cannot connect to {address}"
    return f"{type(exc).__name__} from {address}"


def made_no_connection(exc: requests.RequestException) -> bool:
    """True when the request never reached an HTTP server: the connection was refused, the host name
    did not resolve, no route led there, the TLS handshake failed or the connect timed out. False
    for failures after connecting (a reset, a read timeout, a body cut off), which pass."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    # requests wraps urllib3's MaxRetryError, whose reason says why no connection was made.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def describe_body(response: requests.Response, body: bytes, limit: int = SNIPPET_CHARS) -> str:
    """The content type and the first ``limit`` characters of ``body``, as one printable line."""
    content_type = response.headers.get("Content-Type", "").strip() or "no Content-Type"
    text = " ".join(body[: limit * 4].decode("utf-8", errors="replace").split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    snippet = text if len(text) <= limit else text[: limit - 3] + "..."
    return f'{content_type}: "{snippet}"' if snippet else f"{content_type}, empty"


def is_not_json(response: requests.Response, body: bytes) -> bool:
    """True when a body that did not parse is not JSON at all (an HTML page), rather than the API's
    JSON cut short: its content type is another, or it does not start as a JSON object or array."""
    media = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    first = body.lstrip()[:1]
    json_type = media in ("", "application/json") or media.endswith("+json")
    return not json_type or first not in (b"", b"[", b"{")


def expected_page_sizes(total: int, per_page: int) -> list[int]:
    """Records each page must hold for ``total`` records; an empty source still has page 1 (``[]``)."""
    pages = max(1, math.ceil(total / per_page))
    return [min(per_page, total - (n * per_page)) if total else 0 for n in range(pages)]


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


class BreweryApiClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float,
        max_attempts: int,
        backoff_seconds: float,
        concurrency: int,
        rate_limiter: RateLimiter,
        log: logging.LoggerAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._concurrency = concurrency
        self._limiter = rate_limiter
        self._sleep = sleep
        self._local = threading.local()  # requests.Session is not thread-safe: one per thread
        self._log = log or get_logger(component="api-client")

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = "breweries-pipeline (+https://github.com/breweries)"
            session.headers["Accept"] = "application/json"
            self._local.session = session
        return session

    def fetch_total(self) -> int:
        """``GET /breweries/meta`` -> the number of breweries the list will serve."""

        def parse(body: bytes) -> int:
            meta = json.loads(body)
            total = int(meta["total"])  # older API versions sent the number as a string
            if total < 0:
                raise ValueError(f"negative total {total}")
            return total

        return self._get("/breweries/meta", {}, "meta", parse)

    def fetch_page(self, number: int, per_page: int, expected_records: int) -> Page:
        def parse(body: bytes) -> Page:
            records = json.loads(body)
            if not isinstance(records, list):
                raise ValueError(f"expected a JSON array, got {type(records).__name__}")
            if len(records) != expected_records:
                raise ValueError(f"{len(records)} records, expected {expected_records} from the meta total")
            names = frozenset(key for r in records if isinstance(r, dict) for key in r)
            return Page(number=number, body=body, record_count=len(records), field_names=names)

        params = {"page": number, "per_page": per_page, "sort": SORT_ORDER}
        return self._get("/breweries", params, f"page {number}", parse)

    def crawl(self, per_page: int) -> Crawl:
        """Every page of the list, each checked against the meta total, from a source that held still.

        The meta total is asked again after the pages. If it moved, breweries were added or removed
        while crawling, so a record may sit on two pages or on none: the whole crawl starts again.
        """
        changed = ""
        for attempt in range(1, CRAWL_ATTEMPTS + 1):
            total = self.fetch_total()
            try:
                pages, failure = self._fetch_pages(total, per_page), None
            except ApiError as exc:
                pages, failure = (), exc
            after = self.fetch_total()
            if after == total:
                if failure is not None:
                    raise failure
                return Crawl(self.base_url, total, per_page, pages, datetime.now(timezone.utc))
            changed = f"the source changed while crawling: meta total {total} before the pages, {after} after"
            self._log.warning(f"{changed}; crawling again", extra={"crawl_attempt": attempt})
        raise ApiError(f"{changed} ({CRAWL_ATTEMPTS} crawls in a row)")

    def _fetch_pages(self, total: int, per_page: int) -> tuple[Page, ...]:
        sizes = expected_page_sizes(total, per_page)
        if total and sizes[-1] == per_page:
            # A full last page cannot tell "the end" from "the meta total is too low": the page
            # after it must be empty, or records past the total would be missed without a word.
            sizes.append(0)
        self._log.info(
            "crawling the API", extra={"meta_total": total, "pages": len(sizes), "per_page": per_page}
        )
        with ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="api") as pool:
            futures = [
                pool.submit(self.fetch_page, n, per_page, expected)
                for n, expected in enumerate(sizes, start=1)
            ]
            wait(futures, return_when=FIRST_EXCEPTION)
            if any(f.done() and f.exception() is not None for f in futures):
                # A page the client gave up on fails the crawl: the pages not yet asked for are not
                # asked for, each of which would spend its own attempts and waits first.
                pool.shutdown(wait=True, cancel_futures=True)
                raise next(e for f in futures if not f.cancelled() and (e := f.exception()) is not None)
            return tuple(f.result() for f in futures)

    def _get(self, path: str, params: dict[str, Any], what: str, parse: Callable[[bytes], Any]) -> Any:
        url = self.base_url + path
        cause = "no attempt made"
        unreachable = False  # the last attempt made no connection at all
        not_the_api = False  # the last attempt was answered by something that is not the API
        attempt = 0
        while True:
            attempt += 1
            unreachable = not_the_api = False
            wait: float | None = None
            try:
                self._limiter.acquire()
                response = self._session().get(url, params=params, timeout=self._timeout)
                body = self._accept(response, what)
                try:
                    return parse(body)
                except (ValueError, KeyError, TypeError) as exc:  # truncated or short: ask again
                    if isinstance(exc, json.JSONDecodeError) and is_not_json(response, body):
                        raise _NotTheApiError(
                            f"{response.url} answered HTTP {response.status_code} "
                            f"{describe_body(response, body)}, which is not the API's JSON"
                        ) from None
                    raise _RetryableError(f"malformed response: {exc}") from None
            except _RetryableError as exc:
                cause, wait = str(exc), exc.wait_seconds
            except _NotTheApiError as exc:
                cause, not_the_api = str(exc), True
            except requests.RequestException as exc:  # no answer, or a body cut off mid-stream
                cause = describe_connection_failure(exc, url, self._timeout)
                unreachable = made_no_connection(exc)
            # What passes (5xx, 429, a reset, a stall) gets every attempt; a server nobody can
            # connect to, or a web page instead of the API, gets one brief retry: retrying a closed
            # port or a captive portal for a minute only delays the news.
            brief = unreachable or not_the_api
            limit = min(self._max_attempts, UNREACHABLE_ATTEMPTS) if brief else self._max_attempts
            if attempt >= limit:
                break
            delay = wait if wait is not None else min(self._backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
            self._log.warning(
                f"{what}: {cause}; retrying in {delay:g} s",
                extra={"attempt": attempt, "retry_in_seconds": round(delay, 3)},
            )
            self._sleep(delay)
        if unreachable:
            raise ApiError(
                f"the API at {self.base_url} cannot be reached: {cause} (tried {attempt}x); "
                "check BREWERIES_API_URL and the network, or try `breweries demo`, which runs offline"
            )
        if not_the_api:
            raise ApiError(
                f"the API at {self.base_url} did not answer with its JSON: {cause} (tried {attempt}x): "
                "likely a captive portal, a proxy's error page or a BREWERIES_API_URL that is not the "
                "API; check BREWERIES_API_URL and the network, or try `breweries demo`, which runs offline"
            )
        raise ApiError(f"{what} of {url} failed after {attempt} attempts: {cause}")

    @staticmethod
    def _accept(response: requests.Response, what: str) -> bytes:
        status = response.status_code
        if status == 200:
            return response.content
        if status == 429:
            wait = _retry_after_seconds(response.headers.get("Retry-After"))
            raise _RetryableError("HTTP 429 Too Many Requests", wait)
        if status >= 500:
            raise _RetryableError(f"HTTP {status}")
        # Any other 4xx is a request the API will never accept: retrying cannot help.
        answer = describe_body(response, response.content)
        raise ApiError(f"{what}: HTTP {status} for {response.url}: {answer}")
