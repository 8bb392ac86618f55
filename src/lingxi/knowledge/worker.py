"""The background embedding step: ``python -m lingxi.knowledge.worker NAME``.

`lingxi kb ingest` (without ``--wait``) makes new chunks keyword-searchable and
then starts this process, which embeds pending chunks batch by batch and exits.
It is resumable by construction (pending = chunks without a vector); an flock on
``embed.lock`` keeps a second worker from running on the same knowledge base (a
pid file alone raced: two ingests started two workers), ``embed.status.json``
holds its progress for `lingxi kb info`, and `stop` ends it (`lingxi kb rm`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PID_FILE = "embed.pid"
LOCK_FILE = "embed.lock"
STATUS_FILE = "embed.status.json"


def running(kb_path: Path) -> int | None:
    """The pid of the worker embedding this KB, if one is alive (it holds embed.lock and wrote
    its pid there), or of one just spawned that has not taken the lock yet."""
    holder = _holder(kb_path)
    if holder:
        return holder
    pid = _read_pid(kb_path / PID_FILE)
    return pid if pid and _is_worker(pid) and _alive(pid) else None


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _holder(kb_path: Path) -> int | None:
    """The pid in embed.lock while a worker holds it (None when free)."""
    try:
        fd = os.open(kb_path / LOCK_FILE, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(kb_path / LOCK_FILE) or -1
    finally:
        os.close(fd)  # closing drops a lock we just took
    return None


def status(kb_path: Path) -> dict[str, Any] | None:
    """The running worker's progress: {"pid", "done", "total", "per_s", "eta_s"} (None when idle)."""
    pid = running(kb_path)
    if pid is None:
        return None
    try:
        data = json.loads((kb_path / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    return {"pid": pid, **data}


def spawn(name: str, kb_path: Path) -> int | None:
    """Start a detached worker unless one is already running; return its pid."""
    pid = running(kb_path)
    if pid:
        return pid
    log = open(kb_path / "embed.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "lingxi.knowledge.worker", name],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=os.environ.copy(),
    )  # fmt: skip
    log.close()
    (kb_path / PID_FILE).write_text(str(proc.pid))  # known at once: `kb rm` right after can stop it
    return proc.pid


def stop(kb_path: Path, timeout: float = 10.0) -> int | None:
    """Stop the KB's worker (SIGTERM, then SIGKILL); return the pid it had."""
    stopped = None
    for _ in range(3):  # a spawned worker may only now take the lock: look again after stopping one
        pid = running(kb_path)
        if not pid or pid < 0 or not _is_worker(pid):
            return stopped
        _end(pid, timeout)
        stopped = pid
    return stopped


def _end(pid: int, timeout: float) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except OSError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child (spawned by this process): reap it
            return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def _is_worker(pid: int) -> bool:
    """Never signal a stranger that reused the pid: the process must be a lingxi embedding worker."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"lingxi.knowledge.worker" in f.read()
    except OSError:  # no /proc (macOS): trust the pid file only while the process lives
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def main(argv: list[str] | None = None) -> int:
    from lingxi.knowledge.kb import KnowledgeBase

    name = (argv or sys.argv[1:])[0]
    kb = KnowledgeBase.open(name)
    fd = os.open(kb.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another worker embeds this KB already
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))  # `kb rm`: stop between two batches' writes
    (kb.path / PID_FILE).write_text(str(os.getpid()))
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        spent = time.perf_counter() - started
        rate = done / spent if spent >= 1 and done else None
        record = {"done": done, "total": total, "per_s": None if rate is None else round(rate, 2),
                  "eta_s": None if not rate else round((total - done) / rate)}  # fmt: skip
        with contextlib.suppress(OSError):
            (kb.path / STATUS_FILE).write_text(json.dumps(record), encoding="utf-8")
        print(f"embedded {done}/{total}" + (f" ({rate:.1f}/s)" if rate else ""), flush=True)

    try:
        result = kb.embed_pending(progress=progress)
        kb.store.optimize()
        print(f"embedded {result['embedded']} chunks at {result['passages_per_s']} passages/s", flush=True)
    finally:
        for leftover in (PID_FILE, STATUS_FILE):
            with contextlib.suppress(OSError):
                (kb.path / leftover).unlink()
        os.close(fd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
