"""Tracing: one row per model call in the home database, written off the request path.

`TraceWriter.record` only puts the row on a queue; a background thread writes
rows in small batches, so tracing costs a request microseconds, not a disk sync.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lingxi import db

log = logging.getLogger("lingxi.serve")
_COLUMNS = ("ts", "source", "route", "model", "provider", "key_id", "stream", "prompt_tokens", "completion_tokens",
            "queue_s", "ttft_s", "latency_s", "compute_s", "cost", "status", "error")


@dataclass
class Trace:
    model: str
    provider: str | None = None
    route: str | None = None
    source: str = "server"
    key_id: int | None = None
    stream: bool = False
    ts: float = field(default_factory=time.time)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    queue_s: float | None = None
    ttft_s: float | None = None
    latency_s: float | None = None
    compute_s: float | None = None
    cost: float = 0.0
    status: str = "ok"
    error: str | None = None

    def price(self, price_in: float, price_out: float) -> None:
        """Cost from per-million-token prices (0 for local models, which report compute_s)."""
        self.cost = (self.prompt_tokens * price_in + self.completion_tokens * price_out) / 1_000_000


class TraceWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.Queue[Trace | threading.Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="lingxi-traces", daemon=True)
        self._thread.start()

    def record(self, trace: Trace) -> None:
        self._queue.put(trace)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every trace recorded so far is in the database (for tests and shutdown)."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def _run(self) -> None:
        conn = db.connect(path=self.path)
        try:
            while True:
                batch = [self._queue.get()]
                while len(batch) < 256:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stop = None in batch
                self._write(conn, [t for t in batch if isinstance(t, Trace)])
                for item in batch:
                    if isinstance(item, threading.Event):
                        item.set()
                if stop:
                    return
        finally:
            conn.close()

    def _write(self, conn: sqlite3.Connection, rows: list[Trace]) -> None:
        try:
            if rows:
                marks = ", ".join("?" * len(_COLUMNS))
                conn.execute("BEGIN")
                conn.executemany(f"INSERT INTO traces ({', '.join(_COLUMNS)}) VALUES ({marks})",
                                 [tuple(_value(asdict(t)[c]) for c in _COLUMNS) for t in rows])
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.warning("could not write %d trace(s) to %s: %s", len(rows), self.path, exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")


def _value(v: Any) -> Any:
    return int(v) if isinstance(v, bool) else v


def recent(conn: sqlite3.Connection, last: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM traces ORDER BY id DESC LIMIT ?", (last,)).fetchall()
    return [dict(r) for r in reversed(rows)]
