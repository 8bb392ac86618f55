"""Between llama-cpp-python's OpenAI-shaped dicts and lingxi's types (choices, deltas, logprobs, tool calls)."""

from __future__ import annotations

from typing import Any

from lingxi.models.base import ToolCallBuffer, message_dicts, parse_tool_calls, template_tool_calls
from lingxi.types import Choice, Delta, Message, TokenLogprob


def wire(msgs: list[Message]) -> list[dict[str, Any]]:
    """Messages for a GGUF's Jinja template: content is always a string (an assistant turn with only
    tool calls has content null in OpenAI's format, which templates cannot concatenate)."""
    return [{**d, "content": d.get("content") or ""} for d in message_dicts(msgs)]


class Vocab:
    """Lazy token-id → text lookup (decoding a 150k vocabulary up front would be slow)."""

    def __init__(self, llm: Any, owner: Any) -> None:
        self._llm, self._owner = llm, owner

    def __getitem__(self, token_id: int) -> str:
        return self._owner._piece(self._llm, int(token_id))


def chat_logprobs(raw: dict[str, Any] | None) -> list[TokenLogprob] | None:
    if not raw or not raw.get("content"):
        return None
    return [
        TokenLogprob(
            token=t["token"], logprob=float(t["logprob"]),
            top=[(x["token"], float(x["logprob"])) for x in t.get("top_logprobs") or []],
        )
        for t in raw["content"]
    ]


def text_logprobs(raw: dict[str, Any] | None) -> list[TokenLogprob] | None:
    if not raw:
        return None
    return [
        TokenLogprob(token=t, logprob=float(lp), top=sorted(((k, float(v)) for k, v in (top or {}).items()), key=lambda x: -x[1]))
        for t, lp, top in zip(raw["tokens"], raw["token_logprobs"], raw["top_logprobs"], strict=False)
    ]


def choice(index: int, raw: dict[str, Any]) -> Choice:
    msg = raw["message"]
    calls = parse_tool_calls(msg.get("tool_calls"))
    return Choice(
        index=index,
        message=Message(role="assistant", content=msg.get("content") or "", tool_calls=calls),
        finish_reason="tool_calls" if calls else (raw.get("finish_reason") or "stop"),
        logprobs=chat_logprobs(raw.get("logprobs")),
    )


def from_template(choice: Choice, tools: list[dict]) -> Choice:
    calls = template_tool_calls(choice.message.content or "", tools)
    if not calls:
        return choice
    return choice.model_copy(update={"message": Message(role="assistant", content="", tool_calls=calls),
                                     "finish_reason": "tool_calls"})


def delta(index: int, raw: dict[str, Any], calls: ToolCallBuffer) -> Delta | None:
    d = raw.get("delta") or {}
    text, finish = d.get("content") or "", raw.get("finish_reason")
    calls.add(d.get("tool_calls"))
    if not (text or finish):
        return None
    done = calls.calls() if finish else None
    return Delta(
        index=index, text=text, tool_calls=done, finish_reason="tool_calls" if done else finish,
        logprobs=chat_logprobs(raw.get("logprobs")),
    )
