"""The models a server has loaded, and the fair queue in front of each.

A local model (llama.cpp, transformers) generates one answer at
a time: requests wait in its `Gate` (serve/gate.py), a first-come-first-served queue of bounded
length that answers 503 when it is full or they waited too long. A remote model (any
OpenAI-compatible endpoint) runs up to ``remote_concurrency`` calls at once.
Blocking provider calls run in worker threads; a stream is produced by one
thread from start to end, so its tokens can never interleave with another's.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from lingxi.config import ModelSpec, Settings
from lingxi.errors import ConfigError, LingxiError, ModelError
from lingxi.models import adapted
from lingxi.models.base import ChatModel
from lingxi.models.funnel import LOCAL_PROVIDERS, calling, open_chat
from lingxi.models.resolve import aliases, parse
from lingxi.redact import redact
from lingxi.registry import default_registry
from lingxi.serve.errors import ApiError
from lingxi.serve.gate import Gate
from lingxi.serve.settings import ServeSettings
from lingxi.tune.adapters import list_adapters

MAX_OPEN = 64  # models a server keeps open; the least recently used idle one is closed first


@dataclass
class Served:
    name: str
    model: ChatModel
    provider: str
    gate: Gate
    spec: ModelSpec | None = None
    calls: int = field(default=0)
    base: str | None = None  # the loaded base model it shares with its adapters (a GGUF path)

    @property
    def local(self) -> bool:
        return self.gate.limit == 1


@dataclass
class SharedBase:
    """One loaded base model shared by its names (`smollm2`, `smollm2+a`, ...): one gate, one worker child."""

    gate: Gate
    worker: Any = None  # the ProcessChat whose child holds the base (isolated serving), else None


class ModelPool:
    """The models a server has opened (through the model funnel, like every other caller)."""

    def __init__(self, settings: Settings, serve: ServeSettings, models: dict[str, ChatModel] | None = None) -> None:
        self.settings, self.serve = settings, serve
        self.overrides = dict(models or {})
        self._served: OrderedDict[str, Served] = OrderedDict()
        self._bases: dict[tuple, SharedBase] = {}  # one loaded base (gate, worker) per GGUF and its settings
        self._catalog: set[str] = set()
        self._catalog_at = float("-inf")
        self.executor = ThreadPoolExecutor(max_workers=serve.remote_concurrency + 32, thread_name_prefix="lingxi-model")

    def catalog(self) -> dict[str, str]:
        """Model names this server lists, with the provider of each (adapters as BASE+NAME)."""
        known = aliases(self.settings)
        out = {name: spec.provider for name, spec in known.items()}
        for a in list_adapters(self.settings):
            spec = known.get(a["base"] or "")
            if spec is not None and spec.provider == "llamacpp" and a["status"] == "trained" and _same_base(spec, a):
                out[f"{a['base']}+{a['name']}"] = "llamacpp"
        out.update({name: getattr(m, "provider", "custom") for name, m in self.overrides.items()})
        return out

    def get(self, name: str) -> Served:
        served = self._served.get(name)
        if served is None:
            served = self._served[name] = self._open(name)
            self._evict()
        self._served.move_to_end(name)
        return served

    def _evict(self) -> None:
        idle = [n for n, s in self._served.items() if s.gate.counts(n) == (0, 0)]
        while len(self._served) > MAX_OPEN and idle:
            _close(self._served.pop(idle.pop(0)).model)

    def _open(self, name: str) -> Served:
        spec = None
        if name in self.overrides:
            model = open_chat(self.overrides[name], self._settings(), name=name)
        else:
            spec = self._spec(name)
            isolate = self.serve.isolate == "all" or (self.serve.isolate == "local" and spec.provider in LOCAL_PROVIDERS)
            shared = self._shared(spec, name, isolate)
            try:
                model = open_chat(name, self._settings(), cache=False, isolate=isolate,
                                  worker=shared.worker if shared else None)
            except ConfigError as exc:
                raise ApiError(500, f"The model '{name}' is misconfigured on this server: {exc}",
                               code="model_misconfigured") from exc
            if shared is not None:
                return Served(name=name, model=model, provider=spec.provider, gate=shared.gate, spec=spec,
                              base=spec.path)
        provider = getattr(model, "provider", None) or (spec.provider if spec else "custom")
        serial = bool(getattr(model, "serial", provider in LOCAL_PROVIDERS))
        limit = 1 if serial else self.serve.remote_concurrency
        gate = Gate(limit, self.serve.queue_size, self.serve.queue_timeout_s)
        return Served(name=name, model=model, provider=provider, gate=gate, spec=spec)

    def _shared(self, spec: ModelSpec, name: str, isolate: bool) -> SharedBase | None:
        """The one loaded base behind a llama.cpp name and all its adapters: one gate, one worker child."""
        if spec.provider != "llamacpp":
            return None
        key = (spec.path, spec.n_ctx, spec.n_threads, spec.chat_format, isolate)
        shared = self._bases.get(key)
        if shared is None:
            worker = None
            if isolate:
                from lingxi.models.worker import ProcessChat

                # the child opens the plain base first: a broken adapter then fails its own calls only
                first = adapted.split(name)[0] if adapted.is_adapted(name) else name
                worker = ProcessChat(first, self._settings(), provider="llamacpp")
            gate = Gate(1, self.serve.queue_size, self.serve.queue_timeout_s)
            shared = self._bases[key] = SharedBase(gate=gate, worker=worker)
        return shared

    def bases(self) -> list[dict[str, Any]]:
        """The shared bases: their model names, and (for a worker child) its process id."""
        out = []
        for (path, *_rest), shared in self._bases.items():
            names = sorted(s.name for s in self._served.values() if s.gate is shared.gate)
            pid = getattr(getattr(shared.worker, "_proc", None), "pid", None)
            out.append({"path": redact(str(path)), "names": names, "pid": pid,
                        "running": shared.gate.active, "waiting": shared.gate.waiting})
        return out

    def _settings(self) -> Settings:
        """The settings models are opened with (no trace rows when the server's tracing is off)."""
        return self.settings if self.serve.trace else self.settings.model_copy(update={"trace": False})

    def _spec(self, name: str) -> ModelSpec:
        known = self.catalog()
        if adapted.is_adapted(name) and name.split("+", 1)[0] in known:
            known[name] = "llamacpp"  # a mix (smollm2+a:0.5+b) of listed adapters: checked by parse
        if name not in known and not self.serve.allow_any_model:
            raise ApiError(404, f"The model '{name}' does not exist on this server. Served models: "
                           f"{', '.join(sorted(known))} (GET /v1/models lists them).",
                           param="model", code="model_not_found")
        try:
            return parse(name, self.settings, default_registry())
        except ConfigError as exc:
            raise ApiError(404, f"The model '{name}' does not exist: {exc}", param="model", code="model_not_found") from exc
        except ModelError as exc:  # an adapter trained on another base
            raise ApiError(400, f"The model '{name}' cannot be served: {exc}", param="model",
                           code="adapter_base_mismatch") from exc

    def status(self) -> dict[str, dict[str, Any]]:
        return {redact(s.name): {"provider": s.provider, **dict(zip(("running", "waiting"), s.gate.counts(s.name))),
                                 "calls": s.calls, **({"base": redact(s.base)} if s.base else {})}
                for s in self._served.values()}

    def gauges(self) -> dict[str, dict[str, int]]:
        """Requests running and waiting per model label (for /metrics)."""
        out: dict[str, dict[str, int]] = {}
        for s in list(self._served.values()):
            g = out.setdefault(self.label(s.name), {"running": 0, "waiting": 0})
            running, waiting = s.gate.counts(s.name)
            g["running"] += running
            g["waiting"] += waiting
        return out

    def label(self, name: str) -> str:
        """The /metrics label for a model: its name if the server lists it, else "other" (a bounded set,
        whatever names clients send with --allow-any-model)."""
        if time.monotonic() - self._catalog_at > 10:
            self._catalog, self._catalog_at = set(self.catalog()), time.monotonic()
        return name if name in self._catalog else "other"

    async def call(self, served: Served, fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
        """Run a blocking model call in a worker thread behind the model's gate; return (result, queue seconds).

        The call runs in a copy of the caller's context (route, key, observer: see
        `lingxi.models.funnel.calling`) with the seconds it queued, so its trace carries them."""
        queue_s = await served.gate.acquire(served.name, served.name)
        served.calls += 1
        run = _in_context(fn, queue_s)
        try:
            fut = asyncio.get_running_loop().run_in_executor(self.executor, run, *args)
        except BaseException:
            served.gate.release(served.name)
            raise
        fut.add_done_callback(lambda _f: served.gate.release(served.name))  # only when the thread is really done
        return await asyncio.shield(fut), queue_s

    async def stream(self, served: Served, make: Callable[[], Iterator[Any]]) -> tuple[ThreadStream, float]:
        """Start a stream behind the model's gate; the gate opens again when its thread ends."""
        queue_s = await served.gate.acquire(served.name, served.name)
        served.calls += 1
        stream = ThreadStream(make, self.serve.stream_pace_s)
        try:
            fut = asyncio.get_running_loop().run_in_executor(self.executor, _in_context(stream.produce, queue_s))
        except BaseException:
            served.gate.release(served.name)
            raise
        fut.add_done_callback(lambda _f: served.gate.release(served.name))
        return stream, queue_s

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        for served in list(self._served.values()):
            _close(served.model)
        for shared in self._bases.values():
            if shared.worker is not None:
                shared.worker.close()


def _close(model: Any) -> None:
    """Release what a model holds outside this process (a worker process); most providers hold nothing."""
    close = getattr(getattr(model, "wrapped", model), "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - closing must not fail a shutdown
            pass


def _in_context(fn: Callable[..., Any], queue_s: float) -> Callable[..., Any]:
    """`fn` to run in a worker thread, inside a copy of the current context plus its queue seconds."""
    ctx = contextvars.copy_context()

    def run(*args: Any) -> Any:
        def inner() -> Any:
            with calling(queue_s=queue_s):
                return fn(*args)

        return ctx.run(inner)

    return run


_END = object()
# after the first piece, the event loop collects a stream's pieces at this pace instead of being
# woken by every token: a wake-up handed over right after a token makes the generating thread wait
# for the GIL (and, on a busy machine, for a CPU) once per token, ~3.5% of decode speed measured
# on 2 loaded CPUs (0.05 s still cost ~2.5%, 0.1 s <1%); the first piece, errors and the end
# still wake the loop at once. `lingxi serve --stream-pace` changes it.
STREAM_PACE_S = 0.1


class ThreadStream:
    """A blocking iterator drained by one worker thread; the event loop takes what has
    arrived in batches (the first piece at once, then every `pace_s`, the end at once)."""

    def __init__(self, make: Callable[[], Iterator[Any]], pace_s: float = STREAM_PACE_S) -> None:
        self._make = make
        self._pace_s = pace_s
        self._items: list[Any] = []
        self._lock = threading.Lock()
        self._ready = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self._started = False  # a first piece has been handed over
        self._signalled = False  # the consumer has been woken for what is in _items

    def produce(self, _loop: asyncio.AbstractEventLoop | None = None) -> None:
        it: Iterator[Any] | None = None
        try:
            it = self._make()
            for item in it:
                self._put(item)
                if self._stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put(exc)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                try:
                    close()  # in this thread, so provider locks are released by their owner
                except Exception:  # noqa: BLE001
                    pass
            self._put(_END)

    def _put(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)
            urgent = not self._started or self._pace_s <= 0 or item is _END or isinstance(item, BaseException)
            self._started = True
            wake = urgent and not self._signalled  # the consumer was told already otherwise
            self._signalled = self._signalled or wake
        if wake:
            try:
                self._loop.call_soon_threadsafe(self._ready.set)
            except RuntimeError:  # the loop is gone (shutdown)
                pass

    def cancel(self) -> None:
        self._stop.set()

    async def batches(self) -> AsyncIterator[list[Any]]:
        """Lists of items as they arrive; an exception from the iterator is raised here."""
        while True:
            if self._started and self._pace_s > 0:
                try:  # woken early by the end or an error
                    async with asyncio.timeout(self._pace_s):
                        await self._ready.wait()
                except TimeoutError:
                    pass
            else:
                await self._ready.wait()
            with self._lock:
                items, self._items = self._items, []
                self._ready.clear()
                self._signalled = False
            end = False
            if items and items[-1] is _END:
                items, end = items[:-1], True
            for i, item in enumerate(items):
                if isinstance(item, BaseException):
                    if i:
                        yield items[:i]
                    raise item
            if items:
                yield items
            if end:
                return


def _same_base(spec: ModelSpec, adapter: dict[str, Any]) -> bool:
    """True when the file behind the base alias is, now, the one the adapter was trained on (hashed once per
    path, mtime and size): an alias pointed at another file does not list adapters it would refuse."""
    from lingxi.models.files import resolve_path
    from lingxi.tune.base import sha256_of

    try:
        return sha256_of(resolve_path(spec.path or "")) == adapter.get("base_sha256")
    except (OSError, LingxiError):
        return False
