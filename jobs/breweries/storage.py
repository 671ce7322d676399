"""Where bytes live: a local folder or an S3/MinIO bucket, behind one small interface.

Spark reads and writes tables itself (through ``file://`` or ``s3a://``); everything else the pipeline
stores -- bronze pages, manifests, state records, quality reports -- goes through :class:`ObjectStore`,
which also publishes a table that Spark wrote to a staging folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

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


class ObjectStore:
    """Byte-level I/O on local paths and S3; the scheme of each URI picks the backend.

    Single objects are written atomically on both backends (temp file + rename locally; S3 PUT is
    atomic), so a reader never sees half a manifest or half a state record.
    """

    def __init__(self, s3_endpoint_url: str | None = None) -> None:
        self._s3_endpoint_url = s3_endpoint_url
        self._s3_client: Any = None

    # -- single objects ---------------------------------------------------------------------
    def write_bytes(self, uri: str, data: bytes) -> None:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            self._s3_call("write", uri, lambda c: c.put_object(Bucket=bucket, Key=key, Body=data))
            return
        path = local_path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def read_bytes(self, uri: str) -> bytes:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            response = self._s3_call("read", uri, lambda c: c.get_object(Bucket=bucket, Key=key))
            return response["Body"].read()
        try:
            return local_path(uri).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"{uri} does not exist") from None

    def exists(self, uri: str) -> bool:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            listing = self._s3_call(
                "check", uri, lambda c: c.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
            )
            return any(
                o["Key"] == key or o["Key"].startswith(key.rstrip("/") + "/")
                for o in listing.get("Contents", [])
            )
        return local_path(uri).exists()

    def delete_object(self, uri: str) -> None:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            self._s3_call("delete", uri, lambda c: c.delete_object(Bucket=bucket, Key=key))
            return
        local_path(uri).unlink(missing_ok=True)

    # -- trees ------------------------------------------------------------------------------
    def list_files(self, uri: str) -> list[str]:
        """Every file below ``uri`` (recursively), as full URIs, sorted."""
        if is_s3(uri):
            bucket, key = split_s3(uri)
            prefix = key.rstrip("/") + "/" if key else ""
            return sorted(f"s3a://{bucket}/{k}" for k in self._s3_keys(uri, bucket, prefix))
        root = local_path(uri)
        if not root.exists():
            return []
        return sorted("file://" + str(p) for p in root.rglob("*") if p.is_file())

    def delete_tree(self, uri: str) -> None:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            self._s3_delete_keys(uri, bucket, self._s3_keys(uri, bucket, key.rstrip("/") + "/"))
            return
        shutil.rmtree(local_path(uri), ignore_errors=True)

    def delete_trees_named(self, prefix_uri: str) -> None:
        """Delete every tree whose URI starts with ``prefix_uri`` (``.../_staging/leaf.`` -> all runs')."""
        if is_s3(prefix_uri):
            bucket, key = split_s3(prefix_uri)
            # Every key under the prefix is in one of those trees: delete what the listing found.
            self._s3_delete_keys(prefix_uri, bucket, self._s3_keys(prefix_uri, bucket, key))
            return
        folder, _, name_prefix = prefix_uri.rpartition("/")
        parent = local_path(folder)
        for path in parent.iterdir() if parent.is_dir() else ():
            if path.name.startswith(name_prefix):
                shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):  # the shared folder, once nothing else is built in it
            parent.rmdir()

    def replace_tree(self, staging_uri: str, final_uri: str) -> None:
        """Make the finished tree at ``staging_uri`` the content of ``final_uri``, dropping the old one.

        Locally this is two renames, so readers see either the old or the new tree, never a mix.
        On S3 there is no rename: objects are copied, and the state record written after this
        call is what marks the output complete.
        """
        if is_s3(staging_uri) != is_s3(final_uri):
            raise StorageError(f"cannot move {staging_uri} to {final_uri}: different backends")
        if is_s3(final_uri):
            self._s3_replace_tree(staging_uri, final_uri)
            return
        staging, final = local_path(staging_uri), local_path(final_uri)
        final.parent.mkdir(parents=True, exist_ok=True)
        retired = final.with_name(f".{final.name}.replaced-{uuid.uuid4().hex}")
        if final.exists():
            os.replace(final, retired)
        os.replace(staging, final)
        shutil.rmtree(retired, ignore_errors=True)

    # -- S3 plumbing ------------------------------------------------------------------------
    def _s3_replace_tree(self, staging_uri: str, final_uri: str) -> None:
        src_bucket, src_key = split_s3(staging_uri)
        dst_bucket, dst_key = split_s3(final_uri)
        src_prefix = src_key.rstrip("/") + "/"
        keys = self._s3_keys(staging_uri, src_bucket, src_prefix)
        self.delete_tree(final_uri)
        for key in keys:
            target = dst_key.rstrip("/") + "/" + key[len(src_prefix) :]
            source = {"Bucket": src_bucket, "Key": key}
            self._s3_call(
                "copy",
                f"s3a://{dst_bucket}/{target}",
                lambda c, s=source, t=target: c.copy_object(Bucket=dst_bucket, Key=t, CopySource=s),
            )
        self.delete_tree(staging_uri)

    def _s3_delete_keys(self, uri: str, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys a call
            batch = {"Objects": [{"Key": k} for k in keys[start : start + 1000]]}
            self._s3_call("delete", uri, lambda c, b=batch: c.delete_objects(Bucket=bucket, Delete=b))

    def _s3_keys(self, uri: str, bucket: str, prefix: str) -> list[str]:
        keys: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._s3_call("list", uri, lambda c, kw=kwargs: c.list_objects_v2(**kw))
            keys.extend(o["Key"] for o in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return keys
            token = page["NextContinuationToken"]

    def _s3_call(self, action: str, uri: str, call: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(self._client())
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "error")
            if code in ("NoSuchKey", "404"):
                raise StorageError(f"{uri} does not exist") from None
            bucket = split_s3(uri)[0]
            raise StorageError(f"cannot {action} {uri} (bucket {bucket!r}): {code}") from None
        except BotoCoreError as exc:
            endpoint = self._s3_endpoint_url or "the default AWS endpoint"
            raise StorageError(f"cannot {action} {uri} via {endpoint}: {exc}") from None

    def _client(self) -> Any:
        if self._s3_client is None:
            import boto3

            self._s3_client = boto3.client("s3", endpoint_url=self._s3_endpoint_url)
        return self._s3_client
