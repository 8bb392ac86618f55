"""Prompt-based NLP tasks (the Hugging Face pipeline set, done by a chat model):
summarise, translate, extract entities into JSON, rewrite."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from lingxi.errors import ModelError
from lingxi.models.base import ChatModel, as_params
from lingxi.types import Message, SamplingParams

ENTITY_TYPES = ("PERSON", "ORG", "LOC", "DATE", "NUMBER", "EVENT", "WORK", "OTHER")


def _ask(model: ChatModel, system: str, text: str, params: SamplingParams | dict | None) -> str:
    p = as_params(params if params is not None else {"temperature": 0.0, "max_tokens": 512})
    return model.chat([Message(role="system", content=system), Message(role="user", content=text)], p).text.strip()


def summarise(model: ChatModel, text: str, max_words: int = 60, params: SamplingParams | dict | None = None) -> str:
    system = (f"Summarise the user's text in at most {max_words} words (Chinese: characters), in the text's own "
              "language. Reply with the summary only. 用原文语言写摘要，只输出摘要。")
    return _ask(model, system, text, params)


def translate(model: ChatModel, text: str, target: str = "English", source: str | None = None,
              params: SamplingParams | dict | None = None) -> str:
    src = f" from {source}" if source else ""
    system = f"Translate the user's text{src} into {target}. Keep names, numbers and formatting. Reply with the translation only."
    return _ask(model, system, text, params)


def rewrite(model: ChatModel, text: str, style: str = "clear and concise",
            params: SamplingParams | dict | None = None) -> str:
    system = f"Rewrite the user's text to be {style}, keeping its meaning and language. Reply with the rewritten text only."
    return _ask(model, system, text, params)


def entity_schema(types: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"entities": {"type": "array", "items": {
            "type": "object",
            "properties": {"text": {"type": "string"}, "type": {"type": "string", "enum": list(types)}},
            "required": ["text", "type"]}}},
        "required": ["entities"],
    }


def extract_entities(model: ChatModel, text: str, types: Sequence[str] = ENTITY_TYPES,
                     params: SamplingParams | dict | None = None) -> list[dict[str, str]]:
    """Named entities as [{"text", "type"}], asked for under a JSON schema; only spans found in the text are kept."""
    fmt = {"type": "json_schema", "json_schema": {"name": "entities", "schema": entity_schema(types)}}
    p = as_params(params if params is not None else {"temperature": 0.0, "max_tokens": 512})
    system = ("Extract the named entities from the user's text. Types: " + ", ".join(types) +
              '. Reply as JSON: {"entities": [{"text": "exact span from the text", "type": "TYPE"}]}')
    reply = model.chat([Message(role="system", content=system), Message(role="user", content=text)],
                       p.model_copy(update={"response_format": fmt})).text
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    try:
        items = json.loads(match.group(0) if match else reply).get("entities", [])
    except (ValueError, AttributeError) as exc:
        raise ModelError(f"The model did not return entity JSON: {reply[:120]!r}.",
                         "use a model that supports JSON mode, or a stronger one") from exc
    seen, out = set(), []
    for item in items if isinstance(items, list) else []:
        span, kind = str(item.get("text", "")).strip(), str(item.get("type", "OTHER")).upper()
        if span and span in text and (span, kind) not in seen:
            seen.add((span, kind))
            out.append({"text": span, "type": kind if kind in types else "OTHER"})
    return out
