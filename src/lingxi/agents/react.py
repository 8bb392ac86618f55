"""ReAct for models without native tool calling: the prompt, the action schema, the strict parser.

Two flavours:
- "json": every reply is constrained (SamplingParams.response_format json_schema) to
  {"tool": <one of the tools or "final_answer">, "arguments": {...that tool's schema...}},
  so even a 135M model emits a well-formed, valid action;
- "text": the classic Thought / Action / Action Input / Final Answer lines, parsed strictly:
  anything else is sent back to the model as a format error, never guessed at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lingxi.agents.tools import Tool

FINAL = "final_answer"
_FINAL_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
                 "additionalProperties": False}


@dataclass
class Action:
    tool: str
    arguments: dict[str, Any]
    thought: str | None = None

    @property
    def final(self) -> bool:
        return self.tool == FINAL


class ParseError(ValueError):
    """The reply does not follow the ReAct format; the message is sent back to the model."""


def action_schema(tools: Sequence[Tool]) -> dict[str, Any]:
    """One JSON schema whose branches are the tools (with their argument schemas) and final_answer."""
    branches = [_branch(t.name, t.parameters) for t in tools] + [_branch(FINAL, _FINAL_SCHEMA)]
    defs: dict[str, Any] = {}
    for t in tools:
        defs.update(t.parameters.get("$defs", {}))
    schema: dict[str, Any] = {"anyOf": branches}
    if defs:
        schema["$defs"] = defs
    return schema


def _branch(name: str, params: dict[str, Any]) -> dict[str, Any]:
    args = {k: v for k, v in params.items() if k != "$defs"}
    args.setdefault("additionalProperties", False)
    return {"type": "object", "properties": {"tool": {"const": name}, "arguments": args},
            "required": ["tool", "arguments"], "additionalProperties": False}


# small models call some tool for any request unless told not to (BFCL irrelevance: Qwen2.5-1.5B 8%)
NO_TOOL = (f"Call a tool only when the request needs it. If no tool fits the request, or it lacks what a tool "
           f"needs, do not call a tool: answer with {FINAL} right away.")


def system_prompt(tools: Sequence[Tool], flavour: str, system: str | None) -> str:
    listing = "\n".join(f"- {t.signature()}" for t in tools)
    listing += f"\n- {FINAL}(answer: string): give the final answer to the user"
    head = (system.strip() + "\n\n") if system else ""
    if flavour == "json":
        return (f"{head}You can use these tools:\n{listing}\n\n"
                'Reply with one JSON object: {"tool": "<tool name>", "arguments": {...}}. '
                f"After each tool result, call another tool or {FINAL}. {NO_TOOL}\n\n{_json_example(tools)}")
    return (f"{head}You can use these tools:\n{listing}\n\n"
            "Use exactly this format:\nThought: what to do next\nAction: <tool name>\n"
            'Action Input: {"arg": "value"} (a JSON object)\n\n'
            "You will then get an Observation with the result. When you know the answer, write:\n"
            "Thought: I know the answer\nFinal Answer: <the answer>\n\n"
            f"{NO_TOOL.replace(f'answer with {FINAL}', 'write the Final Answer')}")


def _json_example(tools: Sequence[Tool]) -> str:
    names = {t.name for t in tools}
    if "calculator" in names:
        return ('Example:\nQuestion: What is 12 * (3 + 4)?\n'
                '{"tool": "calculator", "arguments": {"expression": "12 * (3 + 4)"}}\nObservation: 84\n'
                '{"tool": "final_answer", "arguments": {"answer": "84"}}')
    return 'Example of the last step:\n{"tool": "final_answer", "arguments": {"answer": "..."}}'


def observation(text: str) -> str:
    from lingxi.guard.fence import fence

    return f"Observation: {fence(text, 'tool_result')}"  # fenced: data, not instructions


def parse_json_action(text: str, tools: Sequence[Tool]) -> Action:
    try:
        data = json.loads(_strip_fences(text))
    except ValueError as exc:
        raise ParseError(f"Your reply is not valid JSON ({exc}). Reply with one JSON object: "
                         '{"tool": "<tool name>", "arguments": {...}}.') from None
    if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
        raise ParseError('Your reply must be a JSON object with "tool" and "arguments".')
    args = data.get("arguments", {})
    if not isinstance(args, dict):
        raise ParseError('"arguments" must be a JSON object.')
    _check_tool(data["tool"], tools)
    thought = data.get("thought")
    return Action(data["tool"], args, thought if isinstance(thought, str) else None)


_ACTION = re.compile(r"^\s*Action\s*:\s*(.+?)\s*$", re.M)
_INPUT = re.compile(r"^\s*Action Input\s*:\s*(.*)", re.M | re.S)
_FINAL_RE = re.compile(r"^\s*Final Answer\s*:\s*(.*)", re.M | re.S)
_THOUGHT = re.compile(r"^\s*Thought\s*:\s*(.*?)\s*(?=^\s*(?:Action|Final Answer)\s*:|\Z)", re.M | re.S)


def parse_text_action(text: str, tools: Sequence[Tool]) -> Action:
    """Strict parse of Thought/Action/Action Input or Final Answer."""
    thought_m = _THOUGHT.search(text)
    thought = thought_m.group(1).strip() if thought_m else None
    actions, final = _ACTION.findall(text), _FINAL_RE.search(text)
    if final and actions:
        raise ParseError("Your reply has both an Action and a Final Answer; give exactly one.")
    if final:
        answer = final.group(1).strip()
        if not answer:
            raise ParseError("The Final Answer is empty.")
        return Action(FINAL, {"answer": answer}, thought)
    if len(actions) != 1:
        raise ParseError("Your reply needs exactly one 'Action: <tool name>' line followed by "
                         "'Action Input: {...}', or a 'Final Answer: ...' line." if not actions else
                         "Your reply has more than one Action; give one at a time.")
    name = actions[0].strip().strip("`'\"")
    _check_tool(name, tools)
    raw = _INPUT.search(text)
    if not raw:
        raise ParseError(f"The Action '{name}' has no 'Action Input: {{...}}' line.")
    try:
        args = json.loads(_strip_fences(raw.group(1).split("\nObservation")[0]))
    except ValueError as exc:
        raise ParseError(f"The Action Input is not valid JSON ({exc}).") from None
    if not isinstance(args, dict):
        raise ParseError("The Action Input must be a JSON object.")
    return Action(name, args, thought)


def _check_tool(name: str, tools: Sequence[Tool]) -> None:
    known = [t.name for t in tools]
    if name != FINAL and name not in known:
        raise ParseError(f"There is no tool named '{name}'. Use one of: {', '.join(known + [FINAL])}.")


def _strip_fences(text: str) -> str:
    text = text.strip()
    m = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, re.S)
    return m.group(1) if m else text
