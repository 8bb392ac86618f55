"""Tool calling for local models whose chat template has no (or a weak) tool format.

Three pieces, used by the llamacpp provider:

* `with_tool_prompt` — a template that ignores ``tools`` (SmolLM2's does) would drop them
  silently; the tools are then described in a system message, with the ``<tool_call>`` format
  that `template_tool_calls` parses.
* `forced_call` — ``tool_choice: "required"`` (or a named function, narrowed to one tool):
  the reply is constrained by a JSON schema to ``{"name": <one of the tools>, "arguments": …}``.
* `CallFilter` — a stream that may be a tool call written as text is held back until it is
  clearly prose (then it flows) or ends (then it is parsed into ``tool_calls``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from lingxi.models.base import template_tool_calls
from lingxi.types import Delta, Message, SamplingParams

_OPENERS = ("<tool_call>", "```", "{")


def _functions(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t.get("function") or t for t in tools]


def template_has_tools(template: str | None) -> bool:
    return bool(template) and "tools" in template


def tool_prompt(tools: list[dict[str, Any]], required: bool) -> str:
    lines = [json.dumps({"name": f["name"], "description": f.get("description", ""),
                         "parameters": f.get("parameters") or {"type": "object", "properties": {}}},
                        ensure_ascii=False) for f in _functions(tools)]
    must = ("You must call one of these functions." if required else
            "Call one of these functions only when it helps; otherwise answer in plain text.")
    return ("You can call functions. " + must + " To call one, reply with nothing but:\n"
            '<tool_call>{"name": FUNCTION_NAME, "arguments": {ARGUMENTS}}</tool_call>\n'
            "Functions:\n" + "\n".join(lines))


def with_tool_prompt(msgs: list[Message], tools: list[dict[str, Any]], required: bool = False) -> list[Message]:
    """The messages with the tools described in the system message (prepended if there is none)."""
    text = tool_prompt(tools, required)
    if msgs and msgs[0].role == "system":
        return [msgs[0].model_copy(update={"content": f"{msgs[0].content}\n\n{text}"}), *msgs[1:]]
    return [Message(role="system", content=text), *msgs]


def call_schema(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """A JSON schema every reply to which is exactly one call of one of `tools`."""
    options = [{"type": "object", "properties": {
        "name": {"type": "string", "enum": [f["name"]]},
        "arguments": f.get("parameters") or {"type": "object"}}, "required": ["name", "arguments"]}
        for f in _functions(tools)]
    return options[0] if len(options) == 1 else {"anyOf": options}


def prepare(msgs: list[Message], p: SamplingParams, tools: list[dict[str, Any]] | None, template: str | None,
            ) -> tuple[list[Message], SamplingParams, list[dict[str, Any]] | None]:
    """(messages, params, tools for the engine) so that a local model sees the tools and, with
    tool_choice "required", can only answer with a call."""
    if not tools or p.tool_choice == "none":
        return msgs, p, None
    if p.tool_choice == "required":
        fmt = {"type": "json_schema", "json_schema": {"name": "tool_call", "schema": call_schema(tools)}}
        return with_tool_prompt(msgs, tools, True), p.model_copy(update={"response_format": fmt}), None
    if not template_has_tools(template):
        return with_tool_prompt(msgs, tools), p, None
    return msgs, p, tools


class CallFilter:
    """Passes a stream through, except text that may be a tool call written as text."""

    def __init__(self, tools: list[dict[str, Any]]) -> None:
        self.tools = tools
        self._held: list[Delta] = []
        self._flowing = False

    def run(self, deltas: Iterable[Delta]) -> Iterator[Delta]:
        for d in deltas:
            yield from self._feed(d)
        yield from self._end()

    def _feed(self, d: Delta) -> list[Delta]:
        if self._flowing or d.tool_calls:
            return [d]
        self._held.append(d)
        text = "".join(h.text for h in self._held).lstrip()
        if not text or any(o.startswith(text) or text.startswith(o) for o in _OPENERS):
            return []  # still possibly a call
        self._flowing = True
        held, self._held = self._held, []
        return held

    def _end(self) -> list[Delta]:
        if not self._held:
            return []
        held, self._held = self._held, []
        calls = template_tool_calls("".join(h.text for h in held), self.tools)
        if not calls:
            return held
        usage = next((h.usage for h in reversed(held) if h.usage is not None), None)
        return [Delta(index=held[-1].index, tool_calls=calls, finish_reason="tool_calls", usage=usage)]
