"""The bronze manifest: what a crawl fetched, written last so that its presence marks bronze complete."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from breweries.api.client import Crawl
from breweries.api.fields import API_FIELDS
from breweries.storage import Store


def page_file_name(number: int) -> str:
    return f"page={number:04d}.json"


@dataclass(frozen=True)
class PageEntry:
    page: int
    file: str
    records: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    api_url: str
    run_date: str
    fetched_at: str
    meta_total: int
    per_page: int
    sort: str
    record_count: int
    pages: tuple[PageEntry, ...]
    # Schema drift, seen at the source: keys no documented field has, documented fields no record has.
    unexpected_fields: tuple[str, ...] = ()
    missing_fields: tuple[str, ...] = ()

    @classmethod
    def from_crawl(cls, crawl: Crawl, run_date: str, sort: str) -> Manifest:
        entries = tuple(
            PageEntry(p.number, page_file_name(p.number), p.record_count, len(p.body), p.sha256)
            for p in crawl.pages
        )
        return cls(
            api_url=crawl.api_url,
            run_date=run_date,
            fetched_at=crawl.fetched_at.isoformat(),
            meta_total=crawl.meta_total,
            per_page=crawl.per_page,
            sort=sort,
            record_count=crawl.record_count,
            pages=entries,
            unexpected_fields=tuple(sorted(crawl.field_names - set(API_FIELDS))),
            # An empty source says nothing about its fields.
            missing_fields=tuple(f for f in API_FIELDS if f not in crawl.field_names)
            if crawl.record_count
            else (),
        )

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        raw: dict[str, Any] = json.loads(data)
        raw["pages"] = tuple(PageEntry(**p) for p in raw["pages"])
        for name in ("unexpected_fields", "missing_fields"):  # absent from older manifests
            raw[name] = tuple(raw.get(name, ()))
        return cls(**raw)


def load_manifest(store: Store, uri: str) -> Manifest:
    return Manifest.from_json(store.read_bytes(uri))
