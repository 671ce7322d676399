"""Storage URIs: ``file:///abs/path`` for a local folder, ``s3a://bucket/key`` for S3 or MinIO."""

from __future__ import annotations

import os
from pathlib import Path

from breweries.errors import StorageError

S3_SCHEMES = ("s3a://", "s3://")


def normalize_uri(value: str) -> str:
    """``./data``, ``/abs``, ``file:///abs`` -> ``file:///abs``; ``s3://b/p`` and ``s3a://b/p`` -> ``s3a://b/p``."""
    value = value.strip()
    for scheme in S3_SCHEMES:
        if value.startswith(scheme):
            rest = value[len(scheme) :].strip("/")
            if not rest:
                raise StorageError(f"storage URI {value!r} names no bucket")
            return "s3a://" + rest
    if value.startswith("file://"):
        value = value[len("file://") :]
    elif "://" in value:
        raise StorageError(f"unsupported storage URI {value!r}: use a path, file:// or s3a://")
    return "file://" + os.path.abspath(os.path.expanduser(value))


def join_uri(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def is_s3(uri: str) -> bool:
    return uri.startswith("s3a://")


def local_path(uri: str) -> Path:
    if not uri.startswith("file://"):
        raise StorageError(f"{uri!r} is not a local file:// URI")
    return Path(uri[len("file://") :])


def split_s3(uri: str) -> tuple[str, str]:
    """``s3a://bucket/a/b`` -> ``("bucket", "a/b")``."""
    bucket, _, key = uri[len("s3a://") :].partition("/")
    return bucket, key
