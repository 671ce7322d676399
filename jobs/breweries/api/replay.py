"""An offline replay of the Open Brewery DB API, serving the bundled snapshot with the real semantics.

``/v1/breweries`` (``page`` from 1, ``per_page`` 1..200, ``sort``, ``[]`` past the end),
``/v1/breweries/meta`` and ``/v1/breweries/{id}``; 422 and 404 where the real API answers them.
Faults (errors, 429, delays, resets, truncated or short pages, a source that changes mid-crawl, a
meta total that disagrees with the pages) can be injected per request, so that demos, tests and
benchmarks exercise the client against a real HTTP server.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from breweries.api.fields import API_FIELDS, SORTABLE_FIELDS

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50

Record = dict[str, Any]


def bundled_snapshot_path() -> Path:
    return Path(str(resources.files("breweries") / "data" / "breweries.csv.gz"))


def api_record(row: dict[str, str]) -> Record:
    """One CSV row shaped like the API's JSON: 16 fields, numeric coordinates, null for empty."""

    def text(name: str) -> str | None:
        value = row.get(name, "")
        return value if value != "" else None

    def number(name: str) -> float | None:
        value = text(name)
        return float(value) if value is not None else None

    record: Record = {name: text(name) for name in API_FIELDS}
    record["longitude"], record["latitude"] = number("longitude"), number("latitude")
    record["state"], record["street"] = record["state_province"], record["address_1"]
    return record


def load_snapshot(path: Path | None = None) -> list[Record]:
    """Records from a snapshot CSV (gzipped or not); the bundled Open Brewery DB one by default."""
    path = path or bundled_snapshot_path()
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return [api_record(row) for row in csv.DictReader(io.StringIO(raw.decode("utf-8")))]


@dataclass
class Fault:
    """Misbehave on matching requests, ``times`` times (``0`` = always).

    kind: ``status`` (answer ``status``, with ``Retry-After`` on 429), ``delay`` (sleep ``seconds``
    before answering), ``reset`` (close the connection without answering), ``truncate`` (cut the
    body in half), ``short`` (serve ``drop`` fewer records than the page holds), ``insert`` /
    ``remove`` (add a brewery that sorts first / delete the first one, then answer: every later page
    shifts by one record, as when the source changes while it is crawled), ``miscount`` (a meta
    total off by ``by``).
    target: ``list`` (``/breweries``), ``meta`` or ``any``; ``page`` narrows ``list`` to one page.
    """

    kind: str
    target: str = "list"
    page: int | None = None
    times: int = 1
    status: int = 500
    retry_after: float = 1.0
    seconds: float = 1.0
    drop: int = 1
    by: int = 1
    _served: int = field(default=0, repr=False)

    KINDS = ("status", "delay", "reset", "truncate", "short", "insert", "remove", "miscount")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(self.KINDS)}")
        if self.target not in ("list", "meta", "any"):
            raise ValueError(f"unknown fault target {self.target!r}; one of list, meta, any")

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """``kind=status,status=503,page=2,times=1`` -> Fault (the ``--fault`` flag's format)."""
        values: dict[str, Any] = {}
        for part in spec.split(","):
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"fault {spec!r}: expected key=value, got {part!r}")
            key = key.strip()
            if key in ("page", "times", "status", "drop", "by"):
                values[key] = int(value)
            elif key in ("retry_after", "seconds"):
                values[key] = float(value)
            elif key in ("kind", "target"):
                values[key] = value.strip()
            else:
                raise ValueError(f"fault {spec!r}: unknown key {key!r}")
        if "kind" not in values:
            raise ValueError(f"fault {spec!r}: kind=... is required")
        return cls(**values)

    def claim(self, target: str, page: int | None) -> bool:
        """True (and counted) when this fault applies to the request."""
        if self.target != "any" and self.target != target:
            return False
        if self.page is not None and self.page != page:
            return False
        if self.times and self._served >= self.times:
            return False
        self._served += 1
        return True


class ReplayState:
    """The served data and the fault plan, shared by all handler threads."""

    def __init__(self, records: Sequence[Record], faults: Iterable[Fault] = (), latency: float = 0.0):
        self.records = list(records)
        self.by_id = {r["id"]: r for r in self.records if r.get("id") is not None}
        self.faults = list(faults)
        self.latency = latency
        self.requests = 0
        self._lock = threading.Lock()
        self._orders: dict[str | None, list[Record]] = {}

    def ordered(self, sort: str | None) -> list[Record]:
        with self._lock:
            if sort not in self._orders:
                self._orders[sort] = sorted_records(self.records, sort)
            return self._orders[sort]

    def next_fault(self, target: str, page: int | None) -> Fault | None:
        with self._lock:
            self.requests += 1
            return next((f for f in self.faults if f.claim(target, page)), None)

    def change_source(self, kind: str) -> Record:
        """Insert a brewery that sorts before every other, or remove the first one; returns it."""
        with self._lock:
            if kind == "insert":
                record = inserted_record(len(self.records))
                self.records.append(record)
                self.by_id[record["id"]] = record
            else:
                record = min(self.records, key=lambda r: str(r.get("id")))
                self.records.remove(record)
                self.by_id.pop(record.get("id"), None)
            self._orders.clear()
            return record

    def meta(self) -> dict[str, Any]:
        def counts(name: str) -> dict[str, int]:
            return dict(Counter(str(r.get(name)) for r in self.records if r.get(name) is not None))

        return {
            "total": len(self.records),
            "page": 1,
            "per_page": DEFAULT_PER_PAGE,
            "by_country": counts("country"),
            "by_state": counts("state_province"),
            "by_type": counts("brewery_type"),
        }


def inserted_record(serial: int) -> Record:
    """A new brewery whose id sorts before any UUID the API hands out."""
    record: Record = dict.fromkeys(API_FIELDS)
    record.update(
        id=f"00000000-0000-4000-8000-{serial:012d}",
        name=f"Opened While Crawling {serial}",
        brewery_type="micro",
        city="Portland",
        state_province="Oregon",
        state="Oregon",
        country="United States",
    )
    return record


def sorted_records(records: list[Record], sort: str | None) -> list[Record]:
    """Apply ``sort=field:asc,other:desc``; unknown fields are ignored as the API does."""
    if not sort:
        return records
    keys = []
    for part in sort.split(","):
        name, _, direction = part.partition(":")
        if name.strip() in SORTABLE_FIELDS:
            keys.append((name.strip(), direction.strip().lower() == "desc"))
    result = records
    for name, descending in reversed(keys):  # stable sorts, least significant key first
        present = [r for r in result if r.get(name) is not None]
        missing = [r for r in result if r.get(name) is None]
        result = sorted(present, key=lambda r: str(r[name]), reverse=descending) + missing
    return result


class _Handler(BaseHTTPRequestHandler):
    server: ReplayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the client logs what matters; per-request lines would drown it

    def do_GET(self) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = url.path.rstrip("/")
        if path.startswith("/v1"):
            path = path[len("/v1") :]
        target = "meta" if path == "/breweries/meta" else "list" if path == "/breweries" else "one"
        page = _int_or_none(query.get("page", "1")) if target == "list" else None
        fault = state.next_fault(target, page)
        if fault and fault.kind in ("insert", "remove"):
            state.change_source(fault.kind)
        if state.latency:
            time.sleep(state.latency)
        if fault and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault and fault.kind == "reset":
            self.close_connection = True
            self.connection.close()
            return
        if fault and fault.kind == "status":
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.status == 429 else {}
            self._send(fault.status, {"message": "injected fault"}, headers)
            return

        if target == "meta":
            meta = state.meta()
            if fault and fault.kind == "miscount":
                meta["total"] += fault.by
            self._send(200, meta)
        elif target == "list":
            self._list(state, query, fault)
        elif path.startswith("/breweries/"):
            record = state.by_id.get(path[len("/breweries/") :])
            if record is None:
                self._send(404, {"message": "Couldn't find Brewery"})
            else:
                self._send(200, record)
        else:
            self._send(404, {"message": "Not found"})

    def _list(self, state: ReplayState, query: dict[str, str], fault: Fault | None) -> None:
        page = _int_or_none(query.get("page", "1"))
        per_page = _int_or_none(query.get("per_page", str(DEFAULT_PER_PAGE)))
        if page is None or page < 1:
            self._send(422, {"errors": ["page must be an integer greater than 0"]})
            return
        if per_page is None or not 1 <= per_page <= MAX_PER_PAGE:
            self._send(422, {"errors": [f"per_page must be between 1 and {MAX_PER_PAGE}"]})
            return
        ordered = state.ordered(query.get("sort"))
        rows = ordered[(page - 1) * per_page : page * per_page]
        if fault and fault.kind == "short":
            rows = rows[: max(0, len(rows) - fault.drop)]
        body = json.dumps(rows, ensure_ascii=False).encode()
        cut_at = len(body) // 2 if fault and fault.kind == "truncate" else None
        self._send_bytes(200, body, cut_at=cut_at)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload, ensure_ascii=False).encode(), headers=headers)

    def _send_bytes(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        cut_at: int | None = None,
    ) -> None:
        """Answer with ``body``; ``cut_at`` sends only that many bytes and drops the connection."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "public, max-age=300")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body if cut_at is None else body[:cut_at])
        if cut_at is not None:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


class ReplayServer(ThreadingHTTPServer):
    """The replay on ``host:port`` (port 0 picks a free one); use as a context manager to run it."""

    daemon_threads = True

    def __init__(self, state: ReplayState, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.state = state
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> ReplayServer:
        self._thread = threading.Thread(target=self.serve_forever, name="api-replay", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def serve(
    data: Path | None, *, host: str, port: int, latency: float = 0.0, faults: Sequence[Fault] = ()
) -> None:
    """Serve a snapshot until interrupted, after printing the one JSON line a script waits for."""
    records = load_snapshot(data)
    server = ReplayServer(ReplayState(records, faults=faults, latency=latency), host=host, port=port)
    print(json.dumps({"url": server.url, "breweries": len(records)}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
