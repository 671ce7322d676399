"""Local storage: atomic single writes, whole-tree replacement, listing."""

from __future__ import annotations

import pytest

from breweries.errors import StorageError
from breweries.layout import abandoned_staging_prefix
from breweries.storage import LocalStore, join_uri, normalize_uri


def test_uris_are_normalized(tmp_path):
    assert normalize_uri(str(tmp_path)) == f"file://{tmp_path}"
    assert normalize_uri(f"file://{tmp_path}/") == f"file://{tmp_path}"
    assert normalize_uri("s3://bucket/prefix/") == "s3a://bucket/prefix"
    assert join_uri("s3a://b/p/", "/x/", "y") == "s3a://b/p/x/y"
    with pytest.raises(StorageError, match="names no bucket"):
        normalize_uri("s3a://")


def test_write_read_list_and_leave_no_temporary_files(tmp_path):
    store = LocalStore()
    root = normalize_uri(str(tmp_path))
    store.write_bytes(join_uri(root, "a", "one.json"), b"1")
    store.write_bytes(join_uri(root, "a", "one.json"), b"2")
    store.write_bytes(join_uri(root, "a", "b", "two.json"), b"3")
    assert store.read_bytes(join_uri(root, "a", "one.json")) == b"2"
    assert store.list_files(join_uri(root, "a")) == [
        join_uri(root, "a", "b", "two.json"),
        join_uri(root, "a", "one.json"),
    ]
    with pytest.raises(StorageError, match="does not exist"):
        store.read_bytes(join_uri(root, "missing.json"))


def test_replace_tree_swaps_the_whole_folder(tmp_path):
    store = LocalStore()
    root = normalize_uri(str(tmp_path))
    final, staging = join_uri(root, "table", "d=1"), join_uri(root, "table", "_staging", "d=1.x")
    store.write_bytes(join_uri(final, "state=Old", "part.parquet"), b"old")
    store.write_bytes(join_uri(staging, "state=New", "part.parquet"), b"new")
    store.replace_tree(staging, final)
    # The old partition is gone, not merged: nothing stale survives a rewrite.
    assert store.list_files(final) == [join_uri(final, "state=New", "part.parquet")]
    assert not store.exists(staging)
    assert sorted(p.name for p in (tmp_path / "table").iterdir()) == ["_staging", "d=1"]  # no leftovers
    store.delete_trees_named(abandoned_staging_prefix(final))
    assert [p.name for p in (tmp_path / "table").iterdir()] == ["d=1"]  # nor an empty _staging


def test_the_staging_that_killed_runs_left_is_deleted_for_that_output_only(tmp_path):
    store = LocalStore()
    table = normalize_uri(str(tmp_path / "table"))
    for leftover in ("d=1.run1", "d=1.run2", "d=10.run3"):
        store.write_bytes(join_uri(table, "_staging", leftover, "_temporary", "part.parquet"), b"half")
    store.delete_trees_named(abandoned_staging_prefix(join_uri(table, "d=1")))
    assert [p.name for p in (tmp_path / "table" / "_staging").iterdir()] == ["d=10.run3"]
