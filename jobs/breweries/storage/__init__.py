"""Where bytes live: a local folder or an S3/MinIO bucket, behind one interface (:class:`Store`).

The storage root's scheme picks the backend once, in :func:`open_store`; callers hold a store that
already knows where it writes and never ask "is this S3?".
"""

from __future__ import annotations

from breweries.storage.base import Store
from breweries.storage.local import LocalStore
from breweries.storage.s3 import S3Store
from breweries.storage.uris import is_s3, join_uri, local_path, normalize_uri, split_s3

__all__ = [
    "LocalStore",
    "S3Store",
    "Store",
    "is_s3",
    "join_uri",
    "local_path",
    "normalize_uri",
    "open_store",
    "split_s3",
]


def open_store(
    root_uri: str,
    *,
    s3_endpoint_url: str | None = None,
    s3_path_style: bool = False,
    s3_region: str | None = None,
) -> Store:
    """The backend for ``root_uri`` (``file://`` or ``s3a://``, as :func:`normalize_uri` gives)."""
    if is_s3(root_uri):
        return S3Store(s3_endpoint_url, path_style=s3_path_style, region=s3_region)
    return LocalStore()
