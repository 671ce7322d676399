"""A local folder as storage: atomic renames for publishing, ``flock`` for the run-date lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timezone

from breweries.errors import RunDateBusyError, StorageError
from breweries.storage.base import Store
from breweries.storage.uris import join_uri, local_path


class LocalStore(Store):
    def write_bytes(self, uri: str, data: bytes) -> None:
        path = local_path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def read_bytes(self, uri: str) -> bytes:
        try:
            return local_path(uri).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"{uri} does not exist") from None

    def exists(self, uri: str) -> bool:
        return local_path(uri).exists()

    def delete_object(self, uri: str) -> None:
        local_path(uri).unlink(missing_ok=True)

    def list_files(self, uri: str) -> list[str]:
        root = local_path(uri)
        if not root.exists():
            return []
        return sorted("file://" + str(p) for p in root.rglob("*") if p.is_file())

    def delete_tree(self, uri: str) -> None:
        shutil.rmtree(local_path(uri), ignore_errors=True)

    def delete_trees_named(self, prefix_uri: str) -> None:
        folder, _, name_prefix = prefix_uri.rpartition("/")
        parent = local_path(folder)
        for path in parent.iterdir() if parent.is_dir() else ():
            if path.name.startswith(name_prefix):
                shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):  # the shared folder, once nothing else is built in it
            parent.rmdir()

    def replace_tree(self, staging_uri: str, final_uri: str) -> None:
        """Two renames: readers see the old tree or the new one, never a mix."""
        staging, final = local_path(staging_uri), local_path(final_uri)
        final.parent.mkdir(parents=True, exist_ok=True)
        retired = final.with_name(f".{final.name}.replaced-{uuid.uuid4().hex}")
        if final.exists():
            os.replace(final, retired)
        os.replace(staging, final)
        shutil.rmtree(retired, ignore_errors=True)

    @contextlib.contextmanager
    def run_date_lock(self, state_uri: str, run_date: date) -> Iterator[None]:
        """``flock`` on ``<state>/_locks/run_date=D.lock``.

        The kernel drops the lock when the process ends, however it ends, so a killed run never
        leaves a stale lock behind.
        """
        path = local_path(join_uri(state_uri, "_locks", f"run_date={run_date.isoformat()}.lock"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise RunDateBusyError(
                    f"run date {run_date.isoformat()} is already being run ({holder}); "
                    f"wait for it to finish, then run again (finished stages are skipped)"
                ) from None
            # Who holds it, for the message above; the lock itself is the flock, not this text.
            handle.truncate(0)
            started = datetime.now(timezone.utc).isoformat(timespec="seconds")
            handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {started}")
            handle.flush()
            yield
