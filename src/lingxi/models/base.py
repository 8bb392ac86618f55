"""The two model contracts and the small helpers every provider shares."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from lingxi.errors import ConfigError
from lingxi.types import Choice, Completion, Delta, Message, SamplingParams, Token, TokenLogprob, ToolCall, Usage

MessagesLike = str | Sequence[Message | dict[str, Any]]


@runtime_checkable
class ChatModel(Protocol):
    """A chat model. Constructing one loads nothing; the first call does."""

    name: str

    def chat(
        self, messages: MessagesLike, params: SamplingParams | None = None, tools: list[dict] | None = None
    ) -> Completion: ...

    def stream(
        self, messages: MessagesLike, params: SamplingParams | None = None, tools: list[dict] | None = None
    ) -> Iterator[Delta]: ...

    def count_tokens(self, text: str) -> int: ...

    def tokenize(self, text: str) -> list[Token]: ...


@runtime_checkable
class TextModel(Protocol):
    """Optional: raw-text completion (no chat template), for /v1/completions and `lingxi next`."""

    def complete(self, prompt: str, params: SamplingParams | None = None) -> Completion: ...


@runtime_checkable
class EmbeddingModel(Protocol):
    name: str

    def embed(self, texts: Sequence[str], kind: Literal["query", "passage"] = "passage") -> np.ndarray: ...


def as_messages(messages: MessagesLike) -> list[Message]:
    """Accept a plain string, Message objects or OpenAI-style dicts."""
    if isinstance(messages, str):
        return [Message(role="user", content=messages)]
    out = [m if isinstance(m, Message) else Message.model_validate(m) for m in messages]
    if not out:
        raise ConfigError("No messages were given.", "pass at least one user message")
    return out


def as_params(params: SamplingParams | dict[str, Any] | None) -> SamplingParams:
    if params is None:
        return SamplingParams()
    if isinstance(params, SamplingParams):
        return params
    from pydantic import ValidationError

    try:
        return SamplingParams(**params)
    except ValidationError as exc:
        raise sampling_error(exc) from exc


def sampling_error(exc: Exception) -> ConfigError:
    """Turn a pydantic validation error on SamplingParams into one sentence."""
    errors = getattr(exc, "errors", lambda: [])()
    if errors:
        field = ".".join(str(p) for p in errors[0]["loc"]) or "sampling"
        return ConfigError(f"Invalid sampling value for '{field}': {errors[0]['msg']}.", _SAMPLING_HINT)
    return ConfigError(f"Invalid sampling values: {exc}.", _SAMPLING_HINT)


_SAMPLING_HINT = "temperature is 0-2, top_p is in (0, 1], max_tokens >= 1, n is 1-16, top_logprobs is 0-20"


def message_dicts(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """OpenAI wire format for messages."""
    out = []
    for m in messages:
        d: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.name:
            d["name"] = m.name
        if m.tool_call_id:
            d["tool_call_id"] = m.tool_call_id
        if m.tool_calls:
            d["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in m.tool_calls
            ]
        out.append(d)
    return out


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` before the first stop sequence; report whether one was found."""
    cut = min((i for s in stops if s and (i := text.find(s)) >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def collect(deltas: Iterable[Delta], model: str, started: float | None = None) -> Completion:
    """Assemble a streamed completion into a Completion (used by providers and tests)."""
    started = time.perf_counter() if started is None else started
    texts: dict[int, list[str]] = {}
    finish: dict[int, str] = {}
    calls: dict[int, list[ToolCall]] = {}
    lps: dict[int, list[TokenLogprob]] = {}
    usage, ttft = Usage(), None
    for d in deltas:
        if ttft is None and (d.text or d.tool_calls):
            ttft = time.perf_counter() - started
        texts.setdefault(d.index, []).append(d.text)
        if d.tool_calls:
            calls.setdefault(d.index, []).extend(d.tool_calls)
        if d.logprobs:
            lps.setdefault(d.index, []).extend(d.logprobs)
        if d.finish_reason:
            finish[d.index] = d.finish_reason
        if d.usage:
            usage = d.usage
    choices = [
        Choice(
            index=i,
            message=Message(role="assistant", content="".join(texts[i]), tool_calls=calls.get(i)),
            finish_reason=finish.get(i, "stop"),  # type: ignore[arg-type]
            logprobs=lps.get(i),
        )
        for i in sorted(texts)
    ]
    return Completion(
        model=model, choices=choices, usage=usage, latency_s=time.perf_counter() - started, ttft_s=ttft
    )


def json_schema_of(params: SamplingParams) -> dict[str, Any] | None:
    """The JSON schema asked for by response_format, {} for plain JSON mode, None for text."""
    fmt = params.response_format
    if not fmt:
        return None
    if fmt["type"] == "json_object":
        return {}
    return fmt["json_schema"]["schema"]


def parse_tool_calls(raw: list[dict[str, Any]] | None) -> list[ToolCall] | None:
    """Tool calls from OpenAI-shaped dicts (as llama-cpp-python and OpenAI return them)."""
    if not raw:
        return None
    out = []
    for i, call in enumerate(raw):
        fn = call.get("function") or {}
        args = fn.get("arguments") or "{}"
        out.append(
            ToolCall(
                id=call.get("id") or f"call_{i}",
                name=fn.get("name", ""),
                arguments=args if isinstance(args, str) else json.dumps(args),
            )
        )
    return out


_TOOL_CALL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def template_tool_calls(text: str, tools: Sequence[dict[str, Any]]) -> list[ToolCall] | None:
    """Tool calls a model wrote as text, the way its own chat template asks for them:
    ``<tool_call>{"name": …, "arguments": {…}}</tool_call>`` blocks (Qwen, Hermes), or a reply that is
    nothing but such a JSON object (possibly fenced). Only names of the given tools count."""
    names = {(t.get("function") or t).get("name") for t in tools}
    blocks = _TOOL_CALL_TAG.findall(text) or [_FENCE.sub(r"\1", text.strip())]
    out = []
    for block in blocks:
        try:
            data = json.loads(block)
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("name") not in names:
            continue
        args = data.get("arguments", data.get("parameters", {}))
        out.append(ToolCall(id=f"call_{len(out)}", name=data["name"],
                            arguments=args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)))
    return out or None


class ToolCallBuffer:
    """Joins streamed tool-call fragments (OpenAI sends name and arguments in pieces, by index)."""

    def __init__(self) -> None:
        self._parts: dict[int, dict[str, Any]] = {}

    def add(self, fragments: list[Any] | None) -> None:
        for n, frag in enumerate(fragments or []):
            frag = frag if isinstance(frag, dict) else frag.model_dump()
            slot = self._parts.setdefault(frag.get("index", n), {"id": None, "name": "", "arguments": ""})
            fn = frag.get("function") or {}
            slot["id"] = slot["id"] or frag.get("id")
            slot["name"] += fn.get("name") or ""
            args = fn.get("arguments") or ""
            slot["arguments"] += args if isinstance(args, str) else json.dumps(args)

    def calls(self) -> list[ToolCall] | None:
        if not self._parts:
            return None
        return [
            ToolCall(id=s["id"] or f"call_{i}", name=s["name"], arguments=s["arguments"] or "{}")
            for i, s in sorted(self._parts.items())
        ]
