"""S3 or MinIO as storage, through boto3.

There is no rename on S3, so publishing a table cannot be atomic: the staged objects are copied
under the final prefix, with ``_SUCCESS`` last, after the old objects are deleted. A reader that
lists the folder meanwhile can see it empty or partly copied, never old and new objects together.
What says an output is complete is its stage's state record, which is deleted before the output is
touched and written after it is published; every stage checks its inputs' records before reading.
Nor is there a lock that outlives a killed pod safely: the workflow's per-date mutex serializes
runs of a date on object storage.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from typing import Any

from breweries.errors import AccessDeniedError, StorageError
from breweries.storage.base import Store
from breweries.storage.uris import split_s3


class S3Store(Store):
    def __init__(
        self,
        endpoint_url: str | None = None,
        *,
        path_style: bool = False,
        region: str | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        """``endpoint_url`` None means AWS; ``path_style`` addresses ``host/bucket/key`` (MinIO);
        ``region`` None leaves it to the standard AWS variables; ``timeout_seconds``: one attempt
        per call, each wait (connecting, reading) at most this long (None: botocore's defaults)."""
        self.endpoint_url = endpoint_url
        self.path_style = path_style
        self.region = region
        self.timeout_seconds = timeout_seconds
        self._s3_client: Any = None
        self._session: Any = None

    def write_bytes(self, uri: str, data: bytes) -> None:
        bucket, key = split_s3(uri)
        self._call("write", uri, lambda c: c.put_object(Bucket=bucket, Key=key, Body=data))

    def read_bytes(self, uri: str) -> bytes:
        bucket, key = split_s3(uri)
        response = self._call("read", uri, lambda c: c.get_object(Bucket=bucket, Key=key))
        return response["Body"].read()

    def exists(self, uri: str) -> bool:
        bucket, key = split_s3(uri)
        listing = self._call("check", uri, lambda c: c.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1))
        return any(
            o["Key"] == key or o["Key"].startswith(key.rstrip("/") + "/") for o in listing.get("Contents", [])
        )

    def delete_object(self, uri: str) -> None:
        bucket, key = split_s3(uri)
        self._call("delete", uri, lambda c: c.delete_object(Bucket=bucket, Key=key))

    def make_folder(self, uri: str) -> None:
        """An empty ``key/`` object, the marker by which S3A sees a folder that holds nothing yet."""
        bucket, key = split_s3(uri)
        marker = key.strip("/") + "/"
        self._call("write", uri, lambda c: c.put_object(Bucket=bucket, Key=marker, Body=b""))

    def list_files(self, uri: str) -> list[str]:
        bucket, key = split_s3(uri)
        prefix = key.rstrip("/") + "/" if key else ""
        return sorted(f"s3a://{bucket}/{k}" for k in self._keys(uri, bucket, prefix))

    def delete_tree(self, uri: str) -> None:
        bucket, key = split_s3(uri)
        self._delete_keys(uri, bucket, self._keys(uri, bucket, key.rstrip("/") + "/"))

    def delete_trees_named(self, prefix_uri: str) -> None:
        """Also aborts the multipart uploads under the prefix: a writer killed mid-upload (Spark's
        magic committer holds every task's output as pending uploads until job commit) leaves
        them behind, invisible in listings but kept, and billed, until aborted."""
        bucket, key = split_s3(prefix_uri)
        # Every key under the prefix is in one of those trees: delete what the listing found.
        self._delete_keys(prefix_uri, bucket, self._keys(prefix_uri, bucket, key))
        for upload in self.pending_uploads(prefix_uri):
            self._call("abort", prefix_uri, partial(_abort_upload, bucket=bucket, **upload))

    def pending_uploads(self, prefix_uri: str) -> list[dict[str, str]]:
        """The multipart uploads begun and neither completed nor aborted under ``prefix_uri``.

        The bucket's whole list, filtered here: MinIO lists uploads under a prefix only when the
        prefix is a whole object key.
        """
        bucket, key = split_s3(prefix_uri)
        uploads: list[dict[str, str]] = []
        markers: dict[str, str] = {}
        while True:
            page = self._call("list uploads", prefix_uri, partial(_list_uploads, bucket=bucket, **markers))
            uploads.extend(
                {"key": u["Key"], "upload_id": u["UploadId"]}
                for u in page.get("Uploads", [])
                if u["Key"].startswith(key)
            )
            if not page.get("IsTruncated"):
                return uploads
            markers = {"key_marker": page["NextKeyMarker"], "upload_id_marker": page["NextUploadIdMarker"]}

    def replace_tree(self, staging_uri: str, final_uri: str) -> None:
        """Copies, then deletes the staging: the state record written afterwards marks completion."""
        src_bucket, src_key = split_s3(staging_uri)
        dst_bucket, dst_key = split_s3(final_uri)
        src_prefix = src_key.rstrip("/") + "/"
        # _SUCCESS last: a reader that waits for the marker never reads a partly copied folder.
        keys = sorted(self._keys(staging_uri, src_bucket, src_prefix), key=lambda k: k.endswith("/_SUCCESS"))
        self.delete_tree(final_uri)
        for key in keys:
            target = dst_key.rstrip("/") + "/" + key[len(src_prefix) :]
            copy = partial(
                _copy_object, source={"Bucket": src_bucket, "Key": key}, bucket=dst_bucket, key=target
            )
            self._call("copy", f"s3a://{dst_bucket}/{target}", copy)
        self.delete_tree(staging_uri)

    @contextlib.contextmanager
    def run_date_lock(self, state_uri: str, run_date: date) -> Iterator[None]:
        yield  # the workflow's per-date mutex (helm/breweries) serializes runs on object storage

    # -- plumbing ---------------------------------------------------------------------------
    def _delete_keys(self, uri: str, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys a call
            batch = {"Objects": [{"Key": k} for k in keys[start : start + 1000]]}
            answer = self._call("delete", uri, partial(_delete_objects, bucket=bucket, batch=batch))
            # DeleteObjects answers 200 and lists the keys it did not delete, with why.
            for error in answer.get("Errors", [])[:1]:
                where, code = f"s3a://{bucket}/{error.get('Key', '')}", error.get("Code", "error")
                if code in _DENIED:
                    raise AccessDeniedError(where, "delete", access_key=self._access_key(), code=code)
                raise StorageError(f"cannot delete {where} (bucket {bucket!r}): {code}")

    def _keys(self, uri: str, bucket: str, prefix: str) -> list[str]:
        keys: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list", uri, partial(_list_objects, kwargs=kwargs))
            keys.extend(o["Key"] for o in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return keys
            token = page["NextContinuationToken"]

    def _call(self, action: str, uri: str, call: Callable[[Any], Any]) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(self._client())
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            if code in ("NoSuchKey", "404"):
                raise StorageError(f"{uri} does not exist") from None
            if code in _DENIED:
                raise AccessDeniedError(uri, action, access_key=self._access_key(), code=code) from None
            bucket = split_s3(uri)[0]
            raise StorageError(f"cannot {action} {uri} (bucket {bucket!r}): {code}") from None
        except BotoCoreError as exc:
            endpoint = self.endpoint_url or "the default AWS endpoint"
            raise StorageError(f"cannot {action} {uri} via {endpoint}: {exc}") from None

    def _access_key(self) -> str:
        """The id of the access key the client signs with (not a secret), for messages."""
        credentials = self._session.get_credentials() if self._session is not None else None
        return str(credentials.access_key) if credentials is not None else ""

    def _client(self) -> Any:
        if self._s3_client is None:
            import boto3
            from botocore.config import Config

            addressing = {"addressing_style": "path" if self.path_style else "virtual"}
            config = Config(s3=addressing)
            if self.timeout_seconds is not None:
                config = config.merge(
                    Config(
                        connect_timeout=self.timeout_seconds,
                        read_timeout=self.timeout_seconds,
                        retries={"total_max_attempts": 1},
                    )
                )
            # A session of its own: boto3's default session keeps the first credentials it finds.
            self._session = boto3.session.Session()
            self._s3_client = self._session.client(
                "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config
            )
        return self._s3_client


# What S3 and MinIO answer a credential that may not do what it asked (403 on a HEAD has no code)
# or that they do not know.
_DENIED = frozenset({"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"})


def _copy_object(client: Any, *, source: dict[str, str], bucket: str, key: str) -> Any:
    return client.copy_object(Bucket=bucket, Key=key, CopySource=source)


def _delete_objects(client: Any, *, bucket: str, batch: dict[str, Any]) -> Any:
    return client.delete_objects(Bucket=bucket, Delete=batch)


def _list_objects(client: Any, *, kwargs: dict[str, Any]) -> Any:
    return client.list_objects_v2(**kwargs)


def _list_uploads(client: Any, *, bucket: str, key_marker: str = "", upload_id_marker: str = "") -> Any:
    markers = {"KeyMarker": key_marker, "UploadIdMarker": upload_id_marker} if key_marker else {}
    return client.list_multipart_uploads(Bucket=bucket, **markers)


def _abort_upload(client: Any, *, bucket: str, key: str, upload_id: str) -> Any:
    return client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
