"""Any GGUF file through llama-cpp-python (the chat template comes from the GGUF)."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import TemplateError

from lingxi.config import ModelSpec, Settings
from lingxi.errors import ContextLengthError, ModelError, missing_extra
from lingxi.models import llamacpp_wire as W
from lingxi.models.base import (
    MessagesLike,
    ToolCallBuffer,
    as_messages,
    as_params,
    json_schema_of,
)
from lingxi.models.bases import shared_base
from lingxi.models.engine import default_threads, engine_info, load_verdict, quiet_openmp, reinstall_command
from lingxi.models.files import resolve_path
from lingxi.models.local_tools import CallFilter, prepare
from lingxi.types import Choice, Completion, Delta, Message, SamplingParams, Token, Usage

log = logging.getLogger("lingxi.engine")
_warned: set[str] = set()
_loaded: weakref.WeakSet[LlamaCppChat] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Free llama.cpp contexts before the interpreter tears its modules down (llama-cpp-python's own
    __del__ then finds its library half gone and prints a TypeError)."""
    for model in list(_loaded):
        model.close()


def _check_engine(path: Path) -> None:
    """Refuse to load a GGUF in this process when the engine is known to crash on this CPU."""
    from lingxi.config import load_settings

    safe, said = load_verdict(str(path), load_settings().home_dir / "cache")
    if not safe:
        info = engine_info()
        raise ModelError(f"The llama.cpp engine cannot run models on this machine: {said}.",
                         f"rebuild it portably: make engine (outside the repo: {reinstall_command(info.version)})")
    if said and said not in _warned:
        _warned.add(said)
        log.warning(said)


# logprobs need llama.cpp to keep logits for every position (n_ctx x vocab floats);
# that twin instance is loaded only when logprobs are asked for, with this context size.
LOGPROBS_N_CTX = 2048


class LlamaCppChat:
    provider = "llamacpp"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        chat_format: str | None = None,
        loras: tuple[tuple[str, float], ...] = (),
    ) -> None:
        self.path = str(path)
        self.name = name or Path(self.path).stem
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.chat_format = chat_format
        self.loras = tuple((str(p), float(s)) for p, s in loras)  # LoRA GGUF files and their scales
        self._formatter: Any = None
        # every instance of the same file and settings shares one loaded base (and its lock):
        # `smollm2`, `smollm2+a` and `smollm2+b` load the weights once and switch adapters per call
        self._base = shared_base((self.path, n_ctx, n_threads, chat_format))

    @classmethod
    def from_spec(cls, spec: ModelSpec, settings: Settings | None = None) -> LlamaCppChat:
        if not spec.path:
            raise ModelError("A llamacpp model needs a 'path' to a GGUF file.", "set path = '/path/to/model.gguf'")
        from lingxi.models import adapted

        loras = adapted.loras(spec, settings, adapted.gguf_path)
        return cls(
            spec.path,
            name=spec.model,
            n_ctx=spec.n_ctx or (settings.n_ctx if settings else 4096),
            n_threads=spec.n_threads or (settings.n_threads if settings else None),
            chat_format=spec.chat_format,
            loras=tuple(loras),
        )

    def __repr__(self) -> str:
        return f"LlamaCppChat(name={self.name!r}, path={self.path!r})"

    @property
    def _lock(self) -> threading.RLock:
        return self._base.lock  # llama.cpp contexts are not thread-safe: one call at a time per loaded base

    @property
    def _llm(self) -> Any:
        return self._base.llms.get("_llm")

    @_llm.setter
    def _llm(self, value: Any) -> None:
        self._base.llms["_llm"] = value

    @property
    def _llm_logits(self) -> Any:
        return self._base.llms.get("_llm_logits")

    # -- loading -------------------------------------------------------------
    def _load(self, logits_all: bool = False) -> Any:
        """The loaded base (call with the lock held), with this instance's adapters applied."""
        attr = "_llm_logits" if logits_all else "_llm"
        llm = self._base.llms.get(attr)
        if llm is None:
            quiet_openmp()  # before llama.cpp's OpenMP runtime starts
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise missing_extra("llama-cpp-python", "llamacpp") from exc
            path = resolve_path(self.path)
            _check_engine(path)
            try:
                llm = Llama(
                    model_path=str(path),
                    n_ctx=min(self.n_ctx, LOGPROBS_N_CTX) if logits_all else self.n_ctx,
                    n_threads=self.n_threads or default_threads(),
                    logits_all=logits_all,
                    chat_format=self.chat_format,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelError(
                    f"llama.cpp could not load {path}: {exc}.", "check that the file is a complete, valid GGUF model"
                ) from exc
            self._base.llms[attr] = llm
            self._base.loads += 1
            _loaded.add(self)
        self._base.use(attr, llm, self.loras)
        return llm

    def close(self) -> None:
        """Free the loaded contexts (the next call loads again); shared with the other adapters of this base."""
        with self._lock:
            self._base.close()

    # -- chat ----------------------------------------------------------------
    def chat(self, messages: MessagesLike, params: SamplingParams | None = None, tools: list[dict] | None = None) -> Completion:
        msgs, p = as_messages(messages), as_params(params)
        started = time.perf_counter()
        choices, usage = [], Usage()
        with self._lock:
            llm = self._load(p.logprobs)
            sent, q, engine_tools = self._tooling(llm, msgs, p, tools)
            for i in range(p.n):
                out = self._call(llm.create_chat_completion, messages=W.wire(sent), **self._kwargs(q, i, engine_tools))
                choice = W.choice(i, out["choices"][0])
                if tools and not choice.message.tool_calls and self.chat_format is None:
                    choice = W.from_template(choice, tools)  # the GGUF's own template: calls come back as text
                choices.append(choice)
                usage.prompt_tokens = out["usage"]["prompt_tokens"]
                usage.completion_tokens += out["usage"]["completion_tokens"]
        return Completion(model=self.name, choices=choices, usage=usage, latency_s=time.perf_counter() - started)

    def stream(self, messages: MessagesLike, params: SamplingParams | None = None, tools: list[dict] | None = None) -> Iterator[Delta]:
        deltas = self._stream(messages, params, tools)
        if tools and self.chat_format is None:  # calls written as text are parsed, the rest flows
            return CallFilter(tools).run(deltas)
        return deltas

    def _stream(self, messages: MessagesLike, params: SamplingParams | None, tools: list[dict] | None) -> Iterator[Delta]:
        msgs, p = as_messages(messages), as_params(params)
        completion_tokens = 0
        with self._lock:
            llm = self._load(p.logprobs)
            sent, p, engine_tools = self._tooling(llm, msgs, p, tools)
            wire = W.wire(sent)
            for i in range(p.n):
                chunks = self._call(llm.create_chat_completion, messages=wire, stream=True,
                                    **self._kwargs(p, i, engine_tools))
                calls = ToolCallBuffer()
                for chunk in chunks:
                    delta = W.delta(i, chunk["choices"][0], calls)
                    if delta is not None:
                        completion_tokens += 1 if delta.text else 0
                        yield delta
            prompt_tokens = self._prompt_tokens(llm, wire)
        yield Delta(index=p.n - 1, usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens))

    def complete(self, prompt: str, params: SamplingParams | None = None) -> Completion:
        """Raw text continuation, no chat template."""
        p = as_params(params)
        started = time.perf_counter()
        choices, usage = [], Usage()
        with self._lock:
            llm = self._load(p.logprobs)
            for i in range(p.n):
                kw = self._kwargs(p, i, None)
                kw.pop("response_format", None)
                top = kw.pop("top_logprobs", None)
                kw["logprobs"] = (top or 1) if kw.pop("logprobs") else None
                out = self._call(llm.create_completion, prompt=prompt, **kw)
                c = out["choices"][0]
                choices.append(
                    Choice(index=i, message=Message(role="assistant", content=c["text"]),
                           finish_reason=c.get("finish_reason") or "stop", logprobs=W.text_logprobs(c.get("logprobs")))
                )
                usage.prompt_tokens = out["usage"]["prompt_tokens"]
                usage.completion_tokens += out["usage"]["completion_tokens"]
        return Completion(model=self.name, choices=choices, usage=usage, latency_s=time.perf_counter() - started)

    def stream_complete(self, prompt: str, params: SamplingParams | None = None) -> Iterator[Delta]:
        """Raw text continuation, streamed piece by piece (n = 1); the last delta carries the usage."""
        p = as_params(params)
        kw = self._kwargs(p, 0, None)
        kw.pop("response_format", None)
        kw.pop("top_logprobs", None)
        kw["logprobs"] = None
        completion_tokens = 0
        with self._lock:
            llm = self._load()
            for chunk in self._call(llm.create_completion, prompt=prompt, stream=True, **kw):
                c = chunk["choices"][0]
                completion_tokens += 1 if c.get("text") else 0
                if c.get("text") or c.get("finish_reason"):
                    yield Delta(text=c.get("text") or "", finish_reason=c.get("finish_reason"))
            prompt_tokens = len(llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
        yield Delta(usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens))

    # -- tokens --------------------------------------------------------------
    def tokenize(self, text: str, *, add_bos: bool = False) -> list[Token]:
        with self._lock:
            llm = self._load()
            ids = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
            return [Token(id=i, text=self._piece(llm, i)) for i in ids]

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self._load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def next_token_logits(self, text: str) -> tuple[np.ndarray, list[str]]:
        """Logits over the whole vocabulary for the token after `text`, and each token's text."""
        with self._lock:
            llm = self._load()
            ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
            llm.reset()
            llm.eval(ids)
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()
            return logits, W.Vocab(llm, self)  # type: ignore[return-value]

    @staticmethod
    def _piece(llm: Any, token_id: int) -> str:
        """A token's text; a token holding part of a UTF-8 character shows as its bytes, e.g. <0xE4>."""
        raw = llm.detokenize([token_id], special=True)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "".join(f"<0x{b:02X}>" for b in raw)

    # -- helpers -------------------------------------------------------------
    def _tooling(self, llm: Any, msgs: list[Message], p: SamplingParams, tools: list[dict] | None,
                 ) -> tuple[list[Message], SamplingParams, list[dict] | None]:
        if self.chat_format is not None:  # llama-cpp-python's own tool formats
            return msgs, p, tools
        return prepare(msgs, p, tools, llm.metadata.get("tokenizer.chat_template"))

    def _kwargs(self, p: SamplingParams, i: int, tools: list[dict] | None) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "temperature": p.temperature,
            "top_p": p.top_p,
            "top_k": 0,  # OpenAI semantics: only temperature and top_p shape the distribution
            "min_p": 0.0,
            "max_tokens": p.max_tokens,
            "stop": p.stop,
            "seed": None if p.seed is None else p.seed + i,
            "logprobs": p.logprobs,
            "top_logprobs": p.top_logprobs if p.logprobs else None,
        }
        schema = json_schema_of(p)
        if schema is not None:
            kw["response_format"] = {"type": "json_object", **({"schema": schema} if schema else {})}
        if tools:
            kw["tools"] = tools
        return kw

    def _call(self, fn: Any, **kw: Any) -> Any:
        if kw.get("seed") is not None:
            # reusing a cached prompt prefix changes the logits in the last bits, and with them
            # the sampled text: a seeded request evaluates its prompt from scratch to be reproducible
            fn.__self__.reset()
        try:
            out = fn(**kw)
        except (ValueError, TypeError, TemplateError) as exc:
            raise self._error(exc) from exc
        return self._checked(out) if kw.get("stream") else out

    def _checked(self, chunks: Iterator[Any]) -> Iterator[Any]:
        """A stream whose errors (raised by llama-cpp-python on the first chunk) become lingxi errors."""
        try:
            yield from chunks
        except (ValueError, TypeError, TemplateError) as exc:
            raise self._error(exc) from exc

    def _error(self, exc: Exception) -> ModelError:
        text = str(exc)
        if "context window" in text or "exceed context" in text:
            return ContextLengthError(f"The messages do not fit {self.name}'s context window: {text}.",
                                      f"send fewer or shorter messages, or raise n_ctx (now {self.n_ctx})")
        if isinstance(exc, TypeError | TemplateError):
            return ModelError(f"{self.name}'s chat template could not format these messages: {text}.",
                              "check the roles and contents, or set chat_format for this model")
        return ModelError(f"llama.cpp rejected the request: {text}.", "check the sampling values")

    def _prompt_tokens(self, llm: Any, wire: list[dict[str, Any]]) -> int:
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            return sum(self.count_tokens(m.get("content") or "") for m in wire)
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            eos = self._piece(llm, llm.token_eos())
            bos = self._piece(llm, llm.token_bos()) if llm.token_bos() >= 0 else ""
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        prompt = self._formatter(messages=wire).prompt
        return len(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
