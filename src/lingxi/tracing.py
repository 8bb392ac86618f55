"""Tracing: one row per model call in the home database, written off the caller's path.

Every model call is recorded — model, provider, tokens, time to first token,
latency, cost (from the alias's ``price_in``/``price_out`` per million tokens),
compute seconds for local models, status and error — by `Traced`, the wrapper that
the model funnel (`lingxi.models.funnel.open_chat`) puts around every provider. The
server's calls are the same calls: it sets the request context (route, API key,
queue seconds, its metrics as observer) with `lingxi.models.funnel.calling`, and the
wrapper reads it when a call ends. ``trace = false`` in lingxi.toml (or
``LINGXI_TRACE=0``) stops the rows; observers still see every call.

`TraceWriter.record` only appends the row to a queue; one background thread per
database writes rows in batches, so tracing costs a call microseconds, not a
disk sync. `Traced` never changes what a provider returns: deltas pass
through as they come, and errors are re-raised untouched. What it writes is redacted by the
guard policy (``redact_logs``): personal data in an error text never reaches the table.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from lingxi import db
from lingxi.config import ModelSpec, Settings
from lingxi.models.base import TextModel
from lingxi.guard.hooks import log_text
from lingxi.models.funnel import LOCAL_PROVIDERS, call_context, calling
from lingxi.redact import redact
from lingxi.types import Completion, Delta, Usage

log = logging.getLogger("lingxi.tracing")
_COLUMNS = ("ts", "source", "route", "model", "provider", "key_id", "stream", "prompt_tokens", "completion_tokens",
            "queue_s", "ttft_s", "latency_s", "compute_s", "cost", "status", "error", "replica")


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
    replica: str | None = None  # the server that made the call (settings.replica), when several share a database

    def price(self, price_in: float, price_out: float) -> None:
        """Cost from per-million-token prices (0 for local models, which report compute_s)."""
        self.cost = (self.prompt_tokens * price_in + self.completion_tokens * price_out) / 1_000_000


class TraceWriter:
    """Writes traces to one database from a background thread, in batches.

    `record` appends to a deque and wakes the writer only when it was idle; the
    writer then lingers `linger_s` so that the rows of busy periods go in one
    transaction and the thread does not compete with the calls it records.
    `flush` and `close` do not wait for the linger.
    """

    def __init__(self, path: db.Target, linger_s: float = 0.2) -> None:
        self.path = path
        self.linger_s = linger_s
        self.broken = False
        self._items: deque[Trace | threading.Event | None] = deque()
        self._wake = threading.Event()  # something to write
        self._urgent = threading.Event()  # someone waits for it
        self._awake = False
        self._thread = threading.Thread(target=self._run, name="lingxi-traces", daemon=True)
        self._thread.start()

    def record(self, trace: Trace) -> None:
        if self.broken:
            return
        self._items.append(trace)
        if not self._awake:
            self._awake = True
            self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop."""
        if self._thread.is_alive():
            self._push(None)
            self._thread.join(timeout)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every trace recorded so far is in the database (for tests and shutdown)."""
        if not self._thread.is_alive():
            return
        done = threading.Event()
        self._push(done)
        deadline = time.monotonic() + timeout
        while not done.wait(0.05) and self._thread.is_alive() and time.monotonic() < deadline:
            pass

    def _push(self, item: threading.Event | None) -> None:
        self._items.append(item)
        self._urgent.set()
        self._wake.set()

    def _run(self) -> None:
        try:
            conn = db.connect(path=self.path)
        except Exception as exc:  # noqa: BLE001 - tracing must never break a model call
            self.broken = True
            log.warning("tracing is off: could not open %s: %s", db.describe(self.path), exc)
            self._settle(self._take())
            return
        try:
            while True:
                self._wake.wait()
                self._urgent.wait(self.linger_s)
                batch = self._take()
                self._write(conn, [t for t in batch if isinstance(t, Trace)])
                if self._settle(batch):
                    return
        finally:
            conn.close()

    def _take(self) -> list[Trace | threading.Event | None]:
        self._wake.clear()
        self._urgent.clear()
        self._awake = False  # from here on, a new record wakes the thread again
        batch = []
        while self._items:
            batch.append(self._items.popleft())
        return batch

    @staticmethod
    def _settle(batch: list[Any]) -> bool:
        """Release flush() callers; True when close() asked the thread to stop."""
        for item in batch:
            if isinstance(item, threading.Event):
                item.set()
        return None in batch

    def _write(self, conn: Any, rows: list[Trace]) -> None:
        try:
            if rows:
                marks = ", ".join("?" * len(_COLUMNS))
                conn.execute("BEGIN")
                conn.executemany(f"INSERT INTO traces ({', '.join(_COLUMNS)}) VALUES ({marks})",
                                 [tuple(_value(asdict(t)[c]) for c in _COLUMNS) for t in rows])
                conn.execute("COMMIT")
        except db.Error as exc:
            log.warning("could not write %d trace(s) to %s: %s", len(rows), db.describe(self.path), exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")


def _value(v: Any) -> Any:
    return int(v) if isinstance(v, bool) else v


_writers: dict[db.Target, TraceWriter] = {}
_writers_lock = threading.Lock()


def writer(path: db.Target) -> TraceWriter:
    """The one writer of this process for a database: started on first use, flushed at exit."""
    with _writers_lock:
        w = _writers.get(path)
        if w is None or not w._thread.is_alive():
            w = _writers[path] = TraceWriter(path)
        return w


@atexit.register
def _close_writers() -> None:
    with _writers_lock:
        writers = list(_writers.values())
    for w in writers:
        w.close(timeout=5.0)


def error_text(exc: BaseException) -> str:
    """One line for the error column: a LingxiError's sentence, else the exception itself (credentials redacted)."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return redact(str(text))[:500]


def emit(trace: Trace, path: db.Target | None) -> None:
    """Hand a finished call's trace to the context's observer (the server's metrics) and queue its row
    (path None: tracing is off)."""
    observe = call_context.get().observe
    if observe is not None:
        observe(trace)
    if path is not None:
        writer(path).record(trace)


# -- every model call: the wrapper the model funnel applies ---------------------------
class Traced:
    """A chat model whose calls are traced; everything else passes through to the model.

    ``chat`` returns the provider's Completion, ``stream`` yields the provider's
    deltas as they arrive, unchanged; one trace row is queued when a call ends
    (ok, error or cancelled: a stream closed before its end).
    """

    def __init__(self, model: Any, path: db.Target | None, *, name: str | None = None, provider: str | None = None,
                 price_in: float = 0.0, price_out: float = 0.0, settings: Settings | None = None) -> None:
        self.wrapped = model
        self._settings = settings  # for the guard's redaction of what is written (error texts)
        self._path = path  # None: trace off (observers are still told)
        self._alias = name
        self._provider = provider or getattr(model, "provider", None) or "custom"
        self._prices = (price_in, price_out)

    # what is not a model call goes straight to the model (provider, serial, next_token_logits, ...)
    def __getattr__(self, attr: str) -> Any:
        return getattr(self.wrapped, attr)

    def __repr__(self) -> str:
        return f"traced({self.wrapped!r})"

    @property
    def name(self) -> str:
        return self.wrapped.name

    def count_tokens(self, text: str) -> int:
        return self.wrapped.count_tokens(text)

    def tokenize(self, text: str) -> Any:
        return self.wrapped.tokenize(text)

    def chat(self, messages: Any, params: Any = None, tools: list[dict] | None = None) -> Completion:
        return self._call(self.wrapped.chat, messages, params, tools)

    def stream(self, messages: Any, params: Any = None, tools: list[dict] | None = None) -> Iterator[Delta]:
        return self._stream_call(self.wrapped.stream, messages, params, tools)

    def _stream_call(self, fn: Any, *args: Any) -> Iterator[Delta]:
        ts, started = time.time(), time.perf_counter()
        try:
            deltas = fn(*args)
        except BaseException as exc:
            self._record(ts, started, True, None, None, exc)
            raise
        return self._follow(deltas, ts, started)

    def _follow(self, deltas: Iterator[Delta], ts: float, started: float) -> Iterator[Delta]:
        ttft = usage = error = None
        completed = False
        it = iter(deltas)
        try:
            for d in it:
                if ttft is None and (d.text or d.tool_calls):
                    ttft = time.perf_counter() - started
                if d.usage is not None:
                    usage = d.usage
                yield d
            completed = True
        except GeneratorExit:
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            if not completed:
                close = getattr(it, "close", None)
                if close is not None:
                    close()  # here, in the consumer's thread, as the provider expects
            self._record(ts, started, True, usage, ttft, error, cancelled=not completed and error is None)

    def _call(self, fn: Any, *args: Any) -> Completion:
        ts, started = time.time(), time.perf_counter()
        try:
            comp = fn(*args)
        except BaseException as exc:
            self._record(ts, started, False, None, None, exc)
            raise
        self._record(ts, started, False, comp.usage, comp.ttft_s, None)
        return comp

    def _record(self, ts: float, started: float, stream: bool, usage: Usage | None, ttft: float | None,
                error: BaseException | None, *, cancelled: bool = False) -> None:
        try:
            ctx = call_context.get()
            took = time.perf_counter() - started
            waited = ctx.queue_s or 0.0  # what the caller waited includes its queue
            t = Trace(model=redact(self._alias or self.wrapped.name), provider=self._provider, source=ctx.source,
                      route=ctx.route, key_id=ctx.key_id, queue_s=ctx.queue_s, stream=stream, ts=ts,
                      ttft_s=None if ttft is None else ttft + waited, latency_s=took + waited,
                      compute_s=took if self._provider in LOCAL_PROVIDERS else None,
                      replica=self._settings.replica if self._settings else None)
            if usage is not None:
                t.prompt_tokens, t.completion_tokens = usage.prompt_tokens, usage.completion_tokens
            t.price(*self._prices)
            if error is not None:
                interrupted = isinstance(error, (KeyboardInterrupt, SystemExit))
                t.status = "cancelled" if interrupted else "error"
                t.error = None if interrupted else log_text(error_text(error), self._settings)
            elif cancelled:
                t.status = "cancelled"
            emit(t, self._path)
        except Exception as exc:  # noqa: BLE001 - tracing must never break a model call
            log.warning("could not trace a call to %s: %s", self._alias, exc)


class TracedText(Traced):
    """A traced model that also completes raw text (`TextModel`)."""

    def complete(self, prompt: str, params: Any = None) -> Completion:
        return self._call(self.wrapped.complete, prompt, params)

    def stream_complete(self, prompt: str, params: Any = None) -> Iterator[Delta]:
        """Raw text streamed, where the provider can (AttributeError otherwise, like any missing method)."""
        return self._stream_call(self.wrapped.stream_complete, prompt, params)


def traced(model: Any, *, name: str | None = None, spec: ModelSpec | None = None,
           settings: Settings | None = None) -> Any:
    """`model` with its calls traced to the home database of `settings` (rows only when the
    setting ``trace`` is on). Builds nothing and opens nothing: the database is opened by the
    writer thread when the first call ends. Use `lingxi.models.funnel.open_chat`, which applies it."""
    if isinstance(model, Traced):
        return model
    if settings is None:
        from lingxi.config import load_settings

        settings = load_settings()
    cls = TracedText if isinstance(model, TextModel) else Traced
    return cls(model, db.target(settings) if settings.trace else None, name=name,
               provider=spec.provider if spec else None,
               price_in=spec.price_in if spec else 0.0, price_out=spec.price_out if spec else 0.0, settings=settings)


def trace_source(name: str) -> contextlib.AbstractContextManager[Any]:
    """Label the traces of calls made inside the block (e.g. "eval", "agent")."""
    return calling(source=name)


# -- reading -----------------------------------------------------------------------
def recent(conn: Any, last: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM traces ORDER BY id DESC LIMIT ?", (last,)).fetchall()
    return [dict(r) for r in reversed(rows)]


def stats(conn: Any, days: int = 7, model: str | None = None) -> list[dict[str, Any]]:
    """Per model and local day: calls, errors, p50/p95 latency and TTFT, tokens/s, cost, compute seconds.

    Latency percentiles and tokens/s count successful calls only; tokens/s is
    completion tokens over the seconds those calls took (all of them, TTFT included).
    """
    since = time.time() - days * 86400
    sql = ("SELECT date(ts, 'unixepoch', 'localtime') AS day, model, status, latency_s, ttft_s, prompt_tokens,"
           " completion_tokens, cost, compute_s FROM traces WHERE ts >= ?")
    args: tuple[Any, ...] = (since,)
    if model:
        sql, args = sql + " AND model = ?", (since, model)
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in conn.execute(sql + " ORDER BY ts", args):
        groups.setdefault((row["day"], row["model"]), []).append(row)
    out = []
    for (day, name), rows in sorted(groups.items()):
        ok = [r for r in rows if r["status"] == "ok" and r["latency_s"] is not None]
        lat = sorted(r["latency_s"] for r in ok)
        ttft = sorted(r["ttft_s"] for r in ok if r["ttft_s"] is not None)
        busy = sum(lat)
        out.append({
            "day": day, "model": name, "calls": len(rows), "errors": sum(r["status"] == "error" for r in rows),
            "cancelled": sum(r["status"] == "cancelled" for r in rows),
            "p50_latency_s": percentile(lat, 50), "p95_latency_s": percentile(lat, 95),
            "p50_ttft_s": percentile(ttft, 50),
            "prompt_tokens": sum(r["prompt_tokens"] for r in rows),
            "completion_tokens": sum(r["completion_tokens"] for r in rows),
            "tokens_per_s": sum(r["completion_tokens"] for r in ok) / busy if busy > 0 else None,
            "cost": sum(r["cost"] for r in rows),
            "compute_s": sum(r["compute_s"] or 0.0 for r in rows),
        })
    return out


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The q-th percentile of sorted values, interpolating linearly; None for no values."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
