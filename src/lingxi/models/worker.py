"""A chat model in a supervised child process: a native crash there fails one call, not the caller.

A local model runs native code (llama.cpp, torch) that can die with a signal — a build for
another CPU, a bad GGUF, an out-of-memory kill. In the server's process that would end every
request at once. `ProcessChat` runs the model in a child process started with ``spawn``; the
call in flight when the child dies raises `ModelCrashed` (the server answers 503), and the
next call starts a fresh child. The child opens its model through the funnel like any caller
(without trace rows: the parent's trace wrapper records the calls).

    model = open_chat("smollm2", settings, isolate=True)   # what the server pool does for local models

Messages, parameters, deltas and completions cross the pipe pickled; a stream sends one delta
per message, and a consumer that stops early tells the child to stop generating.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections.abc import Iterator
from typing import Any

from lingxi import errors
from lingxi.config import Settings
from lingxi.types import Completion, Delta, Token

_STREAMS = ("stream", "stream_complete")
_CALLS = ("chat", "complete", "count_tokens", "tokenize")
START_TIMEOUT_S = 120.0


def _serve(conn: Any, name: str, settings: Settings) -> None:
    """The child: open the model, then answer (method, args) requests until the pipe closes."""
    from lingxi.models.funnel import open_chat

    # the parent's wrappers trace and guard the calls (with the request's context); the child does neither
    off = settings.guard.model_copy(update={"profile": "off"})
    quiet = settings.model_copy(update={"trace": False, "guard": off})
    model = open_chat(name, quiet, cache=False)
    variants = {name: model}  # other names on the same base (its adapters), opened on first use
    conn.send(("ready", {"provider": getattr(model, "provider", None), "name": getattr(model, "name", name),
                         "text": hasattr(model.wrapped, "complete"),
                         "stream_text": hasattr(model.wrapped, "stream_complete")}))
    while True:
        try:
            method, args, *variant = conn.recv()
        except EOFError:
            return
        try:
            if method == "loaded_bases":  # what this child has loaded (the server's tests and bench read it)
                from lingxi.models.bases import loaded_bases

                conn.send(("ok", loaded_bases()))
                continue
            target = variant[0] if variant else name
            if target not in variants:  # e.g. smollm2+tutor in smollm2's child: the loaded base is shared
                variants[target] = open_chat(target, quiet, cache=False)
            model = variants[target]
            if method in _STREAMS:
                for delta in getattr(model, method)(*args):
                    conn.send(("delta", delta))
                    if conn.poll() and conn.recv() == "cancel":
                        break
                conn.send(("end", None))
            else:
                conn.send(("ok", getattr(model, method)(*args)))
        except Exception as exc:  # noqa: BLE001 - handed to the parent as a sentence
            conn.send(("error", (type(exc).__name__, getattr(exc, "message", str(exc)), getattr(exc, "hint", ""))))


def _rebuilt(kind: str, message: str, hint: str) -> errors.LingxiError:
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, errors.LingxiError)):
        cls = errors.ModelError
    return cls(message, hint)


class ProcessChat:
    """The ChatModel (and TextModel) methods of a model that lives in a child process."""

    serial = True  # one child, one generation at a time

    def __init__(self, name: str, settings: Settings, provider: str | None = None) -> None:
        self.name, self._settings = name, settings
        self.provider = provider or "worker"
        self._proc: Any = None
        self._conn: Any = None
        self._info: dict[str, Any] = {}
        self._lock = threading.RLock()
        self.restarts = 0

    def __repr__(self) -> str:
        return f"ProcessChat({self.name!r}, pid={getattr(self._proc, 'pid', None)})"

    # -- the child's life ---------------------------------------------------------
    def _start(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            return
        if self._proc is not None:
            self.restarts += 1
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.name, self._settings), daemon=True,
                                 name=f"lingxi-model-{self.name[:40]}")
        self._proc.start()
        child.close()
        self._conn = parent
        kind, info = self._receive(START_TIMEOUT_S)
        if kind == "error":
            self.close()
            raise _rebuilt(*info)
        self._info = info

    def _receive(self, timeout: float | None = None) -> tuple[str, Any]:
        """The child's next message; ModelCrashed if it died instead of answering."""
        waited = 0.0
        while not self._conn.poll(0.2):
            waited += 0.2
            if not self._proc.is_alive():
                raise self._crashed()
            if timeout is not None and waited >= timeout:
                self.close()
                raise errors.ModelError(f"The model '{self.name}' did not start within {timeout:.0f} s.",
                                        "check the model file, or run: lingxi doctor")
        try:
            return self._conn.recv()
        except (EOFError, ConnectionError, OSError):
            raise self._crashed() from None

    def _crashed(self) -> errors.ModelCrashed:
        self._proc.join(5)
        code = self._proc.exitcode
        how = signal.Signals(-code).name if code is not None and code < 0 else f"exit code {code}"
        self.close()
        return errors.ModelCrashed(f"The model '{self.name}' crashed ({how}) while answering; "
                                   "it starts again on the next request.",
                                   "if it keeps crashing, run: lingxi doctor")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
        self._conn = None

    def loaded_bases(self) -> list[dict[str, Any]]:
        """The llama.cpp base models loaded in the child (`lingxi.models.bases.loaded_bases`)."""
        return self._call("loaded_bases")

    def view(self, name: str) -> ProcessView:
        """Another model name served by this child (an adapter of the same base: `smollm2+tutor`)."""
        return ProcessView(self, name)

    # -- calls ------------------------------------------------------------------
    def _call(self, method: str, *args: Any, variant: str | None = None) -> Any:
        with self._lock:
            self._start()
            self._conn.send((method, args, variant or self.name))
            kind, value = self._receive()
            if kind == "error":
                raise _rebuilt(*value)
            return value

    def _stream(self, method: str, *args: Any, variant: str | None = None) -> Iterator[Delta]:
        with self._lock:
            self._start()
            self._conn.send((method, args, variant or self.name))
            done = False
            try:
                while True:
                    kind, value = self._receive()
                    if kind == "delta":
                        yield value
                    elif kind == "end":
                        done = True
                        return
                    else:
                        done = True
                        raise _rebuilt(*value)
            finally:
                if not done and self._conn is not None:  # the consumer stopped early: stop the child, drain
                    try:
                        self._conn.send("cancel")
                        while self._receive()[0] == "delta":
                            pass
                    except errors.ModelError:
                        pass  # it died meanwhile: the next call starts a new one

    def chat(self, messages: Any, params: Any = None, tools: list[dict] | None = None) -> Completion:
        return self._call("chat", messages, params, tools)

    def stream(self, messages: Any, params: Any = None, tools: list[dict] | None = None) -> Iterator[Delta]:
        return self._stream("stream", messages, params, tools)

    def complete(self, prompt: str, params: Any = None) -> Completion:
        return self._call("complete", prompt, params)

    def stream_complete(self, prompt: str, params: Any = None) -> Iterator[Delta]:
        with self._lock:
            self._start()
            streams = self._info.get("stream_text")
        if streams:
            return self._stream("stream_complete", prompt, params)
        comp = self.complete(prompt, params)  # a model that cannot stream raw text: one piece
        return iter([Delta(text=comp.text, finish_reason=comp.choices[0].finish_reason if comp.choices else "stop"),
                     Delta(usage=comp.usage)])

    def count_tokens(self, text: str) -> int:
        return self._call("count_tokens", text)

    def tokenize(self, text: str) -> list[Token]:
        return self._call("tokenize", text)


class ProcessView:
    """A model name answered by another ProcessChat's child: one child, one loaded base, many adapters."""

    serial = True

    def __init__(self, owner: ProcessChat, name: str) -> None:
        self.owner, self.name, self.provider = owner, name, owner.provider

    def __repr__(self) -> str:
        return f"ProcessView({self.name!r}, in={self.owner!r})"

    def close(self) -> None:
        """Nothing of its own to free: the child belongs to the owner."""

    def chat(self, messages: Any, params: Any = None, tools: list[dict] | None = None) -> Completion:
        return self.owner._call("chat", messages, params, tools, variant=self.name)

    def stream(self, messages: Any, params: Any = None, tools: list[dict] | None = None) -> Iterator[Delta]:
        return self.owner._stream("stream", messages, params, tools, variant=self.name)

    def complete(self, prompt: str, params: Any = None) -> Completion:
        return self.owner._call("complete", prompt, params, variant=self.name)

    def stream_complete(self, prompt: str, params: Any = None) -> Iterator[Delta]:
        return self.owner._stream("stream_complete", prompt, params, variant=self.name)

    def count_tokens(self, text: str) -> int:
        return self.owner._call("count_tokens", text, variant=self.name)

    def tokenize(self, text: str) -> list[Token]:
        return self.owner._call("tokenize", text, variant=self.name)
