"""The replay answers like the real API: paging, limits, sorting, meta, one brewery."""

from __future__ import annotations

import requests

from breweries.api.fields import API_FIELDS


def get(server, path, **params):
    return requests.get(server.url + path, params=params, timeout=10)


def test_pages_are_bare_arrays_of_api_shaped_records_and_empty_past_the_end(replay_of, snapshot):
    server = replay_of(snapshot)
    first = get(server, "/breweries", page=1, per_page=200)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, max-age=300"
    records = first.json()
    assert len(records) == 200 and list(records[0]) == list(API_FIELDS)
    assert isinstance(records[0]["latitude"], float) or records[0]["latitude"] is None
    assert get(server, "/breweries", per_page=50).json() == get(server, "/breweries", page=1).json()
    last_page = -(-len(snapshot) // 200)
    assert get(server, "/breweries", page=last_page + 1, per_page=200).json() == []


def test_out_of_range_paging_is_422(replay_of, snapshot):
    server = replay_of(snapshot[:10])
    for params in ({"page": 0}, {"page": -1}, {"per_page": 0}, {"per_page": 201}, {"page": "x"}):
        assert get(server, "/breweries", **params).status_code == 422, params


def test_sort_orders_the_whole_list(replay_of, snapshot):
    server = replay_of(snapshot)
    ids = [
        r["id"] for p in (1, 2) for r in get(server, "/breweries", page=p, per_page=200, sort="id:asc").json()
    ]
    assert ids == sorted(r["id"] for r in snapshot)[:400]
    names = [r["name"] for r in get(server, "/breweries", per_page=20, sort="name:desc").json()]
    assert names == sorted(names, reverse=True)


def test_meta_and_single_brewery(replay_of, snapshot):
    server = replay_of(snapshot)
    meta = get(server, "/breweries/meta").json()
    assert meta["total"] == len(snapshot) == sum(meta["by_country"].values())
    brewery = snapshot[42]
    assert get(server, f"/breweries/{brewery['id']}").json() == brewery
    assert get(server, "/breweries/not-a-brewery").status_code == 404
