"""Agents answer with their tools' results: the number check and the "does any tool fit?" step.

* `unsupported_numbers(answer, sources)` — the numbers of a final answer that appear in none of
  `sources` (the question, the tool observations, the tool arguments). A model that retypes
  121932631112635269 as 12193263111126311112635269 fails this check, and the agent then returns the
  tool's result verbatim (`Agent`'s `finish="auto"`).
* `tool_fits(model, request, tools)` — one grammar-constrained yes/no call ("can one of these tools
  do this?") made before the first tool call, so a small model that calls some tool for every
  request (BFCL irrelevance) can answer without one. The choice of when to use it by default was
  measured: see bench/results/agents_decide.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from lingxi.types import Message, SamplingParams

# a number: digits with optional thousands separators, a decimal part and an exponent
# (ASCII boundaries only: 约有21.9百万 holds 21.9; x86 and v2 hold none)
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def numbers(text: str) -> set[str]:
    """The numbers in `text`, normalised (1,000 = 1000 = 1000.0 = 1e3; the sign is dropped)."""
    out = set()
    for raw in _NUMBER.findall(text or ""):
        clean = raw.lstrip("+-").replace(",", "")
        try:
            value = Decimal(clean)
        except InvalidOperation:
            continue
        out.add(_canonical(value))
    return out


def _canonical(value: Decimal) -> str:
    with localcontext() as ctx:
        ctx.prec = 400  # exact for any number a tool prints (2**100 has 31 digits)
        if value == value.to_integral_value():
            return str(int(value))
        return format(value.normalize(), "f")


# constants a tool call may bring in on its own ("twice" -> * 2, "per cent" -> / 100)
SMALL_CONSTANTS = frozenset({*map(str, range(13)), "24", "60", "100", "1000"})


def unsupported_numbers(answer: str, sources: Iterable[str], constants: frozenset[str] = frozenset()) -> list[str]:
    """Numbers of `answer` that none of `sources` contains (in `answer`'s order of first appearance);
    `constants` are numbers that need no source."""
    known: set[str] = set(constants)
    for text in sources:
        known |= numbers(text)
    seen, out = set(), []
    for raw in _NUMBER.findall(answer or ""):
        norm = next(iter(numbers(raw)), None)
        if norm is not None and norm not in known and norm not in seen:
            seen.add(norm)
            out.append(norm)
    return out


# -- the decision step ------------------------------------------------------------------------
DECIDE_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
                 "required": ["answer"], "additionalProperties": False}


def decide_prompt(listing: Sequence[str]) -> str:
    tools = "\n".join(f"- {line}" for line in listing)
    return ("You decide whether a request needs a tool. The tools are:\n" + tools + "\n\n"
            'Reply {"answer": "yes"} when one of these tools does what the request asks and the request gives '
            'what that tool needs. Reply {"answer": "no"} when no tool does what is asked (for example a question '
            "about something else, small talk, or a task for another kind of tool).")


def tool_listing(tools: Iterable[Any]) -> list[str]:
    """One line per tool: a lingxi Tool (its signature) or an OpenAI/BFCL function dict."""
    lines = []
    for t in tools:
        if hasattr(t, "signature"):
            lines.append(t.signature())
            continue
        fn = t.get("function", t)
        params = ", ".join((fn.get("parameters") or {}).get("properties", {}))
        lines.append(f"{fn['name']}({params}): {fn.get('description', '')}".rstrip(": "))
    return lines


def tool_fits(model: Any, request: str | Sequence[Message], tools: Iterable[Any], max_tokens: int = 12) -> bool:
    """Whether `model` judges that one of `tools` fits `request` (a constrained yes/no; an unreadable
    reply counts as yes, so the step can only ever stop a call, never invent one)."""
    msgs = [Message(role="user", content=request)] if isinstance(request, str) else list(request)
    asked = "\n".join(m.content or "" for m in msgs if m.role == "user")
    fmt = {"type": "json_schema", "json_schema": {"name": "decision", "schema": DECIDE_SCHEMA}}
    prompt = [Message(role="system", content=decide_prompt(tool_listing(tools))),
              Message(role="user", content=f"Request: {asked}\nDoes one of the tools fit?")]
    text = model.chat(prompt, SamplingParams(temperature=0.0, max_tokens=max_tokens, response_format=fmt)).text
    try:
        return json.loads(text).get("answer") != "no"
    except (ValueError, AttributeError):
        return True
