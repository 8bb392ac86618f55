"""A deterministic fake chat model that replays queued replies, for tests.

    fake = ScriptedChat(["Hello!", {"tool_calls": [{"name": "calc", "arguments": {"x": 1}}]}])

A reply ``<<crash:SIGSEGV>>`` kills the process with that signal (to test crash supervision).
Each call takes the next reply from the queue; when the queue is empty it uses
`default` (if given) or raises. It honours the same SamplingParams as a real
model: max_tokens (cuts on its own word/character tokens), stop, n, logprobs
and JSON mode (a reply that is not valid JSON under JSON mode is an error).
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from lingxi.config import ModelSpec, Settings
from lingxi.errors import ModelError
from lingxi.models.base import (
    MessagesLike,
    as_messages,
    as_params,
    collect,
    cut_at_stop,
    json_schema_of,
    parse_tool_calls,
)
from lingxi.types import Completion, Delta, SamplingParams, Token, TokenLogprob, Usage

# one token per CJK character, word, run of spaces or punctuation mark
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff]+|\s+|[^\w\s]", re.UNICODE)
Reply = str | dict[str, Any]


class ScriptedChat:
    provider = "scripted"

    def __init__(self, replies: list[Reply] | None = None, *, default: str | None = None, name: str = "scripted"):
        self.name = name
        self.default = default
        self._queue: deque[Reply] = deque(replies or [])
        self._lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []  # what each call received, for assertions

    @classmethod
    def from_spec(cls, spec: ModelSpec, settings: Settings | None = None) -> ScriptedChat:
        return cls(list(spec.replies), default=spec.replies[-1] if spec.replies else "OK", name=spec.model or "scripted")

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def tokenize(self, text: str) -> list[Token]:
        return [Token(id=_token_id(t), text=t) for t in _TOKEN.findall(text)]

    def count_tokens(self, text: str) -> int:
        return len(_TOKEN.findall(text))

    def chat(self, messages: MessagesLike, params: SamplingParams | None = None, tools: list[dict] | None = None) -> Completion:
        return collect(self.stream(messages, params, tools), self.name)

    def complete(self, prompt: str, params: SamplingParams | None = None) -> Completion:
        return self.chat(prompt, params)

    def stream_complete(self, prompt: str, params: SamplingParams | None = None) -> Iterator[Delta]:
        return self.stream(prompt, params)

    def stream(self, messages: MessagesLike, params: SamplingParams | None = None, tools: list[dict] | None = None) -> Iterator[Delta]:
        msgs, p = as_messages(messages), as_params(params)
        prompt_tokens = sum(self.count_tokens(m.content or "") for m in msgs)
        self.calls.append({"messages": msgs, "params": p, "tools": tools})
        replies = [_forced(self._next(), tools) if tools and p.tool_choice == "required" else self._next()
                   for _ in range(p.n)]
        completion_tokens = 0
        for index, reply in enumerate(replies):
            for delta in self._play(index, reply, p):
                completion_tokens += self.count_tokens(delta.text)
                yield delta
        yield Delta(index=len(replies) - 1, usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens))

    def _next(self) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.default is None:
            raise ModelError("The scripted model has no replies left.", "queue more with .queue(...) or set default=")
        return self.default

    def _play(self, index: int, reply: Reply, p: SamplingParams) -> Iterator[Delta]:
        if isinstance(reply, dict) and reply.get("tool_calls"):
            calls = [{"function": {"name": c["name"], "arguments": c.get("arguments", {})}} for c in reply["tool_calls"]]
            yield Delta(index=index, tool_calls=parse_tool_calls(calls), finish_reason="tool_calls")
            return
        text = reply.get("content", "") if isinstance(reply, dict) else reply
        if text.startswith("<<crash:") and text.endswith(">>"):  # dies like native code does, to test supervision
            os.kill(os.getpid(), getattr(signal, text[8:-2]))
        schema = json_schema_of(p)
        if schema is not None:
            text = text if reply is not self.default else json.dumps(example_of(schema), ensure_ascii=False)
            _check_json(text)
        text, stopped = cut_at_stop(text, p.stop)
        pieces = _TOKEN.findall(text)
        finish = "stop"
        if p.max_tokens is not None and len(pieces) > p.max_tokens:
            pieces, finish = pieces[: p.max_tokens], "length"
        for i, piece in enumerate(pieces):
            lp = [TokenLogprob(token=piece, logprob=0.0, top=[(piece, 0.0)] * (p.top_logprobs or 0))] if p.logprobs else None
            last = i == len(pieces) - 1
            yield Delta(index=index, text=piece, logprobs=lp, finish_reason=finish if last else None)
            time.sleep(0)  # yield the GIL like a real stream would
        if not pieces:
            yield Delta(index=index, finish_reason="stop" if stopped or finish == "stop" else finish)


def _forced(reply: Reply, tools: list[dict]) -> Reply:
    """Under tool_choice "required" a reply that is no call becomes a call of the first tool with
    example arguments (what a constrained real model would at least produce)."""
    if isinstance(reply, dict) and reply.get("tool_calls"):
        return reply
    fn = tools[0].get("function") or tools[0]
    return {"tool_calls": [{"name": fn["name"], "arguments": example_of(fn.get("parameters") or {"type": "object"})}]}


def _token_id(piece: str) -> int:
    return int.from_bytes(piece.encode("utf-8")[:4].ljust(4, b"\0"), "little") % 50_000


def example_of(schema: dict[str, Any]) -> Any:
    """A small value that satisfies a JSON schema (what the fake answers in JSON mode by default)."""
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return example_of(options[0])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        return {k: example_of(v) for k, v in props.items() if k in schema.get("required", props)}
    if kind == "array":
        return [example_of(schema.get("items", {}))] * schema.get("minItems", 0)
    return {"string": "x", "integer": 0, "number": 0, "boolean": True, "null": None}.get(kind, "x")


def _check_json(text: str) -> None:
    try:
        json.loads(text)
    except ValueError as exc:
        raise ModelError(
            f"The scripted reply is not valid JSON but JSON mode was asked for: {exc}.",
            "queue a JSON reply for calls that set response_format",
        ) from exc
