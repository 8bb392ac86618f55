"""OpenAI's wire format: requests in, responses and stream chunks out.

Only this module knows field names like ``max_completion_tokens`` or
``chat.completion.chunk``; the routes hand it lingxi types.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import BaseModel, ValidationError

from lingxi.models.base import sampling_error
from lingxi.serve.errors import ApiError, validation_error
from lingxi.serve.schema import ChatRequest, CompletionRequest, MessageIn, TextPart
from lingxi.types import Completion, Delta, Message, SamplingParams, TokenLogprob, ToolCall, Usage

_SAMPLING = ("temperature", "top_p", "stop", "seed", "n")


def parse(kind: type[BaseModel], body: Any) -> Any:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    try:
        return kind.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc


def sampling(req: ChatRequest | CompletionRequest, default_max_tokens: int) -> SamplingParams:
    """SamplingParams from a request; a bad value is a 400 naming the field."""
    values: dict[str, Any] = {k: getattr(req, k, None) for k in _SAMPLING}
    max_tokens = getattr(req, "max_completion_tokens", None) or req.max_tokens
    values["max_tokens"] = default_max_tokens if max_tokens is None else max_tokens
    if isinstance(req, ChatRequest):
        values["logprobs"], values["top_logprobs"] = req.logprobs, req.top_logprobs
        if req.tools and req.tool_choice is not None:  # a named function is narrowed to one tool by tools_for
            values["tool_choice"] = req.tool_choice if isinstance(req.tool_choice, str) else "required"
        try:
            values["response_format"] = req.response_format.as_dict() if req.response_format else None
        except ValueError as exc:
            raise ApiError(400, f"{exc}.", param="response_format", code="invalid_value") from exc
    elif req.logprobs is not None:
        values["logprobs"], values["top_logprobs"] = True, req.logprobs
    try:
        return SamplingParams(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        raise ApiError(400, str(sampling_error(exc)), param=str(loc[0]) if loc else None, code="invalid_value") from exc


def messages(raw: list[MessageIn]) -> list[Message]:
    return [_message(i, m) for i, m in enumerate(raw)]


def _message(i: int, m: MessageIn) -> Message:
    role = "system" if m.role == "developer" else m.role
    content = m.content
    if isinstance(content, list):
        other = next((p.type for p in content if not isinstance(p, TextPart)), None)
        if other is not None:
            raise ApiError(400, f"messages[{i}] has a '{other}' content part; this server handles text only.",
                           param=f"messages.{i}.content", code="unsupported_content")
        content = "".join(p.text for p in content if isinstance(p, TextPart))
    calls = [ToolCall(id=c.id or f"call_{n}", name=c.function.name, arguments=c.function.arguments)
             for n, c in enumerate(m.tool_calls)] if m.tool_calls else None
    return Message(role=role, content=content if content is not None else ("" if not calls else None),
                   name=m.name, tool_calls=calls, tool_call_id=m.tool_call_id)


def tools_for(req: ChatRequest) -> list[dict[str, Any]] | None:
    """The tools to hand the provider (OpenAI's dict shape), narrowed by a named tool_choice."""
    tools = [t.model_dump(exclude_none=True) for t in req.tools] if req.tools else None
    choice = req.tool_choice
    if not tools or choice in (None, "auto", "required"):
        return tools
    if choice == "none":
        return None
    chosen = [t for t in tools if t["function"]["name"] == choice.function.name]
    if not chosen:
        raise ApiError(400, f"tool_choice names '{choice.function.name}', which is not among the tools.",
                       param="tool_choice", code="invalid_value")
    return chosen


# -- responses ---------------------------------------------------------------
def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage_json(u: Usage) -> dict[str, int]:
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "total_tokens": u.total_tokens}


def _entry(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}


def chat_logprobs(lps: list[TokenLogprob] | None) -> dict[str, Any] | None:
    if lps is None:
        return None
    return {"content": [{**_entry(t.token, t.logprob), "top_logprobs": [_entry(a, b) for a, b in t.top]} for t in lps],
            "refusal": None}


def text_logprobs(lps: list[TokenLogprob] | None, offset: int = 0) -> dict[str, Any] | None:
    if lps is None:
        return None
    offsets, pos = [], offset
    for t in lps:
        offsets.append(pos)
        pos += len(t.token)
    return {"tokens": [t.token for t in lps], "token_logprobs": [t.logprob for t in lps],
            "top_logprobs": [dict(t.top) for t in lps], "text_offset": offsets}


def tool_calls_json(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls]


def chat_body(comp: Completion, model: str, rid: str, created: int) -> dict[str, Any]:
    choices = []
    for c in comp.choices:
        msg: dict[str, Any] = {"role": "assistant", "content": c.message.content, "refusal": None}
        if c.message.tool_calls:
            msg["tool_calls"] = tool_calls_json(c.message.tool_calls)
            msg["content"] = c.message.content or None
        choices.append({"index": c.index, "message": msg, "logprobs": chat_logprobs(c.logprobs),
                        "finish_reason": _finish(c.finish_reason)})
    return {"id": rid, "object": "chat.completion", "created": created, "model": model, "choices": choices,
            "usage": usage_json(comp.usage), "system_fingerprint": None}


def text_body(comps: list[tuple[str, Completion]], model: str, rid: str, created: int, echo: bool) -> dict[str, Any]:
    """One text_completion for one or more prompts; choices are numbered across prompts."""
    choices, usage = [], Usage()
    for prompt, comp in comps:
        for c in comp.choices:
            head = prompt if echo else ""
            choices.append({"text": head + (c.message.content or ""), "index": len(choices),
                            "logprobs": text_logprobs(c.logprobs, len(head)), "finish_reason": _finish(c.finish_reason)})
        usage.prompt_tokens += comp.usage.prompt_tokens
        usage.completion_tokens += comp.usage.completion_tokens
    return {"id": rid, "object": "text_completion", "created": created, "model": model, "choices": choices,
            "usage": usage_json(usage), "system_fingerprint": None}


def _finish(reason: str | None) -> str:
    return "stop" if reason in (None, "error") else reason


class ChatChunks:
    """Turns lingxi Deltas into OpenAI ``chat.completion.chunk`` objects, in OpenAI's order:
    a role chunk per choice, content / tool-call chunks, an empty-delta finish chunk per
    choice, then (with stream_options.include_usage) a usage chunk with no choices."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self.id, self.created, self.model = new_id("chatcmpl"), int(time.time()), model
        self.include_usage = include_usage
        self.usage = Usage()
        self._open: set[int] = set()
        self._done: set[int] = set()

    def _chunk(self, choices: list[dict[str, Any]], usage: Usage | None = None) -> dict[str, Any]:
        out = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
               "system_fingerprint": None, "choices": choices}
        if self.include_usage:
            out["usage"] = usage_json(usage) if usage is not None else None
        return out

    def _choice(self, index: int, delta: dict[str, Any], finish: str | None = None, lps: Any = None) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": lps, "finish_reason": finish}

    def feed(self, d: Delta) -> list[dict[str, Any]]:
        if d.usage is not None:
            self.usage = d.usage
        out = []
        if (d.text or d.tool_calls or d.finish_reason or d.logprobs) and d.index not in self._open:
            self._open.add(d.index)
            out.append(self._chunk([self._choice(d.index, {"role": "assistant", "content": "", "refusal": None})]))
        if d.text or d.logprobs:
            out.append(self._chunk([self._choice(d.index, {"content": d.text}, lps=chat_logprobs(d.logprobs))]))
        if d.tool_calls:
            calls = [{"index": k, **c} for k, c in enumerate(tool_calls_json(d.tool_calls))]
            out.append(self._chunk([self._choice(d.index, {"tool_calls": calls})]))
        if d.finish_reason and d.index not in self._done:
            self._done.add(d.index)
            out.append(self._chunk([self._choice(d.index, {}, _finish(d.finish_reason))]))
        return out

    def end(self) -> list[dict[str, Any]]:
        out = [self._chunk([self._choice(i, {}, "stop")]) for i in sorted(self._open - self._done)]
        if self.include_usage:
            out.append(self._chunk([], self.usage))
        return out


class TextChunks:
    """lingxi Deltas as OpenAI ``text_completion`` stream chunks (one choice), echoing the prompt first
    when asked, a finish chunk, then (with stream_options.include_usage) a usage chunk."""

    def __init__(self, model: str, include_usage: bool, echo: str = "") -> None:
        self.id, self.created, self.model = new_id("cmpl"), int(time.time()), model
        self.include_usage, self._echo, self.usage, self._finished = include_usage, echo, Usage(), False

    def _chunk(self, choices: list[dict[str, Any]], usage: Usage | None = None) -> dict[str, Any]:
        out = {"id": self.id, "object": "text_completion", "created": self.created, "model": self.model,
               "system_fingerprint": None, "choices": choices}
        if self.include_usage:
            out["usage"] = usage_json(usage) if usage is not None else None
        return out

    def feed(self, d: Delta) -> list[dict[str, Any]]:
        if d.usage is not None:
            self.usage = d.usage
        text, self._echo = self._echo + d.text, ""
        if not (text or d.finish_reason) or self._finished:
            return []
        self._finished = bool(d.finish_reason)
        return [self._chunk([{"text": text, "index": 0, "logprobs": None,
                              "finish_reason": _finish(d.finish_reason) if d.finish_reason else None}])]

    def end(self) -> list[dict[str, Any]]:
        out = [] if self._finished else [self._chunk([{"text": "", "index": 0, "logprobs": None,
                                                      "finish_reason": "stop"}])]
        if self.include_usage:
            out.append(self._chunk([], self.usage))
        return out
