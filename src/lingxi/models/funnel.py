"""The one way a chat model is opened: every model call in lingxi passes through `open_chat`.

    model = open_chat("smollm2")              # an alias or spec, None (the default), or a ChatModel instance
    with calling(route="/v1/chat/completions", key_id=3, queue_s=0.02):
        model.chat("你好")                     # traced with the server's request context

The library (`lingxi.chat`, `lingxi.Model`), the CLI, RAG, agents, chains, KB summaries and
the server's model pool all open models here, so the wrappers are applied once, in one fixed
order, outermost first::

    guard -> trace -> provider

The request context (who is calling, the route, the API key, the seconds spent queueing, and
an observer such as the server's metrics) travels in a ContextVar, so the server reuses the
library's tracing instead of keeping its own bookkeeping. Nothing is loaded here: a provider
loads its weights on its first call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from lingxi.config import ModelSpec, Settings, load_settings
from lingxi.models.base import ChatModel
from lingxi.models.resolve import build, parse
from lingxi.registry import default_registry

# providers that compute on this machine: one generation at a time per instance, and their
# traces carry compute seconds; a model object may also say so itself with a boolean `serial`
LOCAL_PROVIDERS = frozenset({"llamacpp", "hf"})
CACHE_SIZE = 32  # opened models kept per process (a local one holds its weights): least recently used goes


@dataclass(frozen=True)
class CallContext:
    """Who is calling a model, and from where (read by the trace wrapper when a call ends)."""

    source: str = "library"  # library, cli, server, agent, eval, ...
    route: str | None = None
    key_id: int | None = None
    queue_s: float | None = None  # seconds the request waited for the model before the call
    observe: Callable[[Any], None] | None = None  # called with each finished Trace (the server's metrics)
    guard: str | None = None  # the guard profile for these calls (a server key's), else the settings' own


call_context: ContextVar[CallContext] = ContextVar("lingxi_call_context", default=CallContext())


@contextlib.contextmanager
def calling(**fields: Any) -> Iterator[CallContext]:
    """Model calls made inside the block carry these context fields (source, route, key_id, ...)."""
    ctx = dataclasses.replace(call_context.get(), **fields)
    token = call_context.set(ctx)
    try:
        yield ctx
    finally:
        call_context.reset(token)


def is_opened(model: Any) -> bool:
    from lingxi.guard.wrapper import Guarded

    return isinstance(model, Guarded)


def wrap(model: Any, *, name: str | None = None, spec: ModelSpec | None = None,
         settings: Settings | None = None) -> Any:
    """Apply the wrappers to a provider instance, in the fixed order (guard -> trace -> provider)."""
    if is_opened(model):
        return model
    from lingxi.guard.wrapper import guarded
    from lingxi.tracing import traced

    settings = settings or load_settings()
    return guarded(traced(model, name=name, spec=spec, settings=settings), settings)


_cache: OrderedDict[str, Any] = OrderedDict()
_cache_lock = threading.Lock()


def open_chat(model: str | ChatModel | None = None, settings: Settings | None = None, *, name: str | None = None,
              cache: bool = True, isolate: bool = False, worker: Any = None) -> Any:
    """The chat model for a name (alias, ``PROVIDER:TARGET``, a .gguf path, an http(s) URL), None (the
    configured default) or a ChatModel instance, with the wrappers applied.

    Opened models are kept per name and settings (the least recently used of CACHE_SIZE goes), so
    repeated calls reuse a loaded model; ``cache=False`` gives a fresh one. ``name`` labels an
    instance in traces (default: its own ``name``). ``isolate=True`` runs the provider in a supervised
    child process (`lingxi.models.worker`): a native crash fails the call in flight, not the caller;
    ``worker`` (a running `ProcessChat`) runs the model in that child instead, sharing its loaded base
    (the server serves `smollm2`, `smollm2+a` and `smollm2+b` from one child and one base).
    """
    if model is not None and not isinstance(model, str):
        return wrap(model, name=name, settings=settings)
    settings = settings or load_settings()
    alias = model or settings.default_model
    key = f"{alias}|{isolate}|{settings.model_dump_json()}"
    if cache and worker is None:
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key]
    registry = default_registry()
    spec = parse(alias, settings, registry)
    if worker is not None:
        provider: Any = worker.view(alias)
    elif isolate:
        from lingxi.models.worker import ProcessChat

        provider = ProcessChat(alias, settings, provider=spec.provider)
    else:
        provider = build(spec, settings, registry)
    opened = wrap(provider, name=name or alias, spec=spec, settings=settings)
    if cache and worker is None:
        with _cache_lock:
            opened = _cache.setdefault(key, opened)
            _cache.move_to_end(key)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return opened


def Model(name: str | None = None, *, settings: Settings | None = None, cache: bool = True) -> Any:  # noqa: N802
    """The chat model for an alias or spec (default: settings.default_model), opened through the funnel.

    Nothing is loaded until the first call; calls are traced to the home database unless the
    setting ``trace`` is off.
    """
    return open_chat(name, settings, cache=cache)
