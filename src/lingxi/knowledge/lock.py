"""One writer per knowledge base: an exclusive `flock` on ``write.lock`` in the KB folder.

    >>> with writer_lock(kb.path, kb.name, "ingest ~/notes"):   # StoreError if another process holds it
    ...     ingest_path(...)

The kernel releases the lock when its holder exits, however it exits (Ctrl-C,
SIGKILL, a crash), so a stale lock file never blocks anybody: only a live holder
does. The holder writes who it is (pid, what it does, since when) into the file,
so the second process can say so in its one sentence.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from lingxi.errors import StoreError

LOCK_FILE = "write.lock"


def _holder(fd: int) -> dict[str, object]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def _busy(name: str, holder: dict[str, object], waited: float | None) -> StoreError:
    who = f"process {holder.get('pid', '?')}"
    if holder.get("doing"):
        who += f" ({holder['doing']}"
        who += f", since {holder['since']})" if holder.get("since") else ")"
    after = f" after waiting {waited:g} s" if waited else ""
    return StoreError(
        f"The knowledge base '{name}' is being written by {who}{after}; one writer at a time keeps it consistent.",
        "wait for it to finish and run the command again, or add --wait-lock to queue behind it",
    )


@contextlib.contextmanager
def writer_lock(kb_path: Path, name: str, doing: str, wait: float | None = 0) -> Iterator[None]:
    """Hold the KB's writer lock for the block. `wait`: 0 fails at once when another process
    holds it, None waits as long as it takes, a number waits that many seconds."""
    fd = os.open(Path(kb_path) / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        _acquire(fd, name, wait)
        os.ftruncate(fd, 0)
        record = {"pid": os.getpid(), "doing": doing, "since": time.strftime("%H:%M:%S")}
        os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, name: str, wait: float | None) -> None:
    deadline = None if wait is None else time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if deadline is not None and time.monotonic() >= deadline:
                raise _busy(name, _holder(fd), wait) from None
            time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)


def holder(kb_path: Path) -> dict[str, object] | None:
    """Who holds the writer lock now (None when nobody does)."""
    path = Path(kb_path) / LOCK_FILE
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(fd) or {"pid": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
