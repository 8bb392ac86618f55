"""The background embedding step: ``python -m lingxi.knowledge.worker NAME``.

`lingxi kb ingest` (without ``--wait``) makes new chunks keyword-searchable and
then starts this process, which embeds pending chunks batch by batch and exits.
It is resumable by construction (pending = chunks without a vector) and a pid
file keeps a second worker from starting on the same knowledge base.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

PID_FILE = "embed.pid"


def running(kb_path: Path) -> int | None:
    """The pid of the worker embedding this KB, if one is alive."""
    try:
        pid = int((kb_path / PID_FILE).read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


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
    return proc.pid


def main(argv: list[str] | None = None) -> int:
    from lingxi.knowledge.kb import KnowledgeBase

    name = (argv or sys.argv[1:])[0]
    kb = KnowledgeBase.open(name)
    pid_file = kb.path / PID_FILE
    other = running(kb.path)
    if other and other != os.getpid():
        return 0
    pid_file.write_text(str(os.getpid()))
    try:
        result = kb.embed_pending()
        kb.store.optimize()
        print(f"embedded {result['embedded']} chunks at {result['passages_per_s']} passages/s", flush=True)
    finally:
        with contextlib.suppress(OSError):
            pid_file.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
