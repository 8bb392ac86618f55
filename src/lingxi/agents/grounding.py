"""Agents answer with their tools' results: the number check and the "does any tool fit?" step.

* `unsupported_numbers(answer, sources)` — the numbers of a final answer that appear in none of
  `sources` (the question, the tool observations, the tool arguments). A model that retypes
  121932631112635269 as 12193263111126311112635269 fails this check, and the agent then returns the
  tool's result verbatim (`Agent`'s `finish="auto"`).
* `tool_fits(model, request, tools)` — one grammar-constrained call (the request's purpose, then a
  tool name or "none") made before the first tool call, so a small model that calls some tool for every
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
# The model first writes what the request wants (purpose), then picks the tool whose description does
# that, or "none". A bare yes/no ("does one of these tools fit?") was measured first: Qwen2.5-1.5B said
# "yes" to every BFCL irrelevance request (0 % refused), SmolLM2 said "no" to fitting ones
# (bench/results/agents_decide.md, agents_trust_qwen.md).
PURPOSE_CHARS = 80


def decide_schema(names: Sequence[str]) -> dict:
    return {"type": "object", "properties": {"purpose": {"type": "string", "maxLength": PURPOSE_CHARS},
                                             "tool": {"enum": [*names, "none"]}},
            "required": ["purpose", "tool"], "additionalProperties": False}  # fmt: skip


def decide_prompt(listing: Sequence[str]) -> str:
    tools = "\n".join(f"- {line}" for line in listing)
    return ("Tools:\n" + tools + "\n\nFirst write in a few words what the request wants computed or done (purpose). "
            "Then pick the tool whose description does exactly that purpose, or \"none\" when no tool's description "
            "does it (a tool for a different quantity or task does not fit).")


def tool_listing(tools: Iterable[Any]) -> list[str]:
    """One line per tool: a lingxi Tool (its signature) or an OpenAI/BFCL function dict."""
    return [line for _, line in _named(tools)]


def _named(tools: Iterable[Any]) -> list[tuple[str, str]]:
    out = []
    for t in tools:
        if hasattr(t, "signature"):
            out.append((t.name, t.signature()))
            continue
        fn = t.get("function", t)
        params = ", ".join((fn.get("parameters") or {}).get("properties", {}))
        out.append((fn["name"], f"{fn['name']}({params}): {fn.get('description', '')}".rstrip(": ")))
    return out


def tool_fits(model: Any, request: str | Sequence[Message], tools: Iterable[Any], max_tokens: int = 64) -> bool:
    """Whether `model` judges that one of `tools` fits `request`: one JSON-schema-constrained call that
    states the request's purpose and picks a tool name or "none" (an unreadable reply counts as a fit,
    so the step can only ever stop a call, never invent one)."""
    msgs = [Message(role="user", content=request)] if isinstance(request, str) else list(request)
    asked = "\n".join(m.content or "" for m in msgs if m.role == "user")
    named = _named(tools)
    fmt = {"type": "json_schema", "json_schema": {"name": "decision", "schema": decide_schema([n for n, _ in named])}}
    prompt = [Message(role="system", content=decide_prompt([line for _, line in named])),
              Message(role="user", content=f"Request: {asked}")]
    text = model.chat(prompt, SamplingParams(temperature=0.0, max_tokens=max_tokens, response_format=fmt)).text
    try:
        return json.loads(text).get("tool") != "none"
    except (ValueError, AttributeError):
        return True
