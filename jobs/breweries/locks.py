"""One run of a date at a time: two runs of the same date would publish over each other's inputs.

On local storage the lock is ``flock`` on ``<state>/_locks/run_date=D.lock``: the kernel drops it
when the process ends, however it ends, so a killed run never leaves a stale lock behind. On object
storage the orchestrator serializes runs instead (the workflow's per-date mutex), because S3 has no
lock that outlives a killed pod safely.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone

from breweries.errors import RunDateBusyError
from breweries.storage import is_s3, join_uri, local_path


@contextmanager
def run_date_lock(state_uri: str, run_date: date) -> Iterator[None]:
    """Hold the date's lock for the ``with`` block; raise :class:`RunDateBusyError` if it is taken."""
    if is_s3(state_uri):
        yield
        return
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
