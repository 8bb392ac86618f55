"""Conversation memory: what of a long conversation a model gets to see again.

Four strategies share one small contract (`add`, `context`, `state`), so a session
can persist any of them as JSON and reload it:

* ``buffer-window``  — the last `turns` exchanges verbatim; anything older is dropped.
* ``summary``        — only a running summary; no message is kept verbatim.
* ``summary-buffer`` — recent messages verbatim up to `max_tokens`; older ones are folded
  into the summary instead of being dropped.
* ``entity``         — facts (the sentences that mention them) about named things — people,
  products, places — plus the last exchange; `context(question)` recalls the facts about
  the entities the new question mentions, however long ago they came up.

Summaries come from a `Summariser` (a model with `model_summariser`, or the
deterministic `brief` fallback); entities from an `Extractor` (`find_entities`
by default).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from lingxi.knowledge.text import estimate_tokens, sentence_spans
from lingxi.types import Message

Summariser = Callable[[str, Sequence[Message]], str]
Extractor = Callable[[str], list[str]]


@runtime_checkable
class Memory(Protocol):
    kind: str

    def add(self, message: Message) -> None: ...

    def context(self, question: str = "") -> list[Message]: ...

    def state(self) -> dict[str, Any]: ...


def _dump(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content or ""} for m in messages]


def _load(rows: Sequence[dict[str, Any]]) -> list[Message]:
    return [Message(role=r["role"], content=r.get("content", "")) for r in rows]


def _note(title: str, text: str) -> Message:
    return Message(role="system", content=f"{title}: {text}")


class BufferWindow:
    kind = "buffer-window"

    def __init__(self, turns: int = 3, state: dict[str, Any] | None = None) -> None:
        self.turns = turns
        self.messages: list[Message] = _load((state or {}).get("messages", []))

    def add(self, message: Message) -> None:
        self.messages = [*self.messages, message][-2 * self.turns :]

    def context(self, question: str = "") -> list[Message]:
        return list(self.messages)

    def state(self) -> dict[str, Any]:
        return {"messages": _dump(self.messages)}


class Summary:
    kind = "summary"

    def __init__(self, summarise: Summariser | None = None, state: dict[str, Any] | None = None) -> None:
        self.summarise = summarise or brief
        self.summary: str = (state or {}).get("summary", "")
        self.pending: list[Message] = _load((state or {}).get("pending", []))

    def add(self, message: Message) -> None:
        self.pending.append(message)
        if message.role == "assistant":  # fold each finished exchange into the summary
            self.summary, self.pending = self.summarise(self.summary, self.pending), []

    def context(self, question: str = "") -> list[Message]:
        return [_note("Conversation so far", self.summary)] if self.summary else []

    def state(self) -> dict[str, Any]:
        return {"summary": self.summary, "pending": _dump(self.pending)}


class SummaryBuffer:
    kind = "summary-buffer"

    def __init__(self, summarise: Summariser | None = None, max_tokens: int = 400,
                 count: Callable[[str], int] = estimate_tokens, state: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.summarise, self.max_tokens, self.count = summarise or brief, max_tokens, count
        self.summary: str = (state or {}).get("summary", "")
        self.messages: list[Message] = _load((state or {}).get("messages", []))

    def add(self, message: Message) -> None:
        self.messages.append(message)
        old: list[Message] = []
        while len(self.messages) > 1 and sum(self.count(m.content or "") for m in self.messages) > self.max_tokens:
            old.append(self.messages.pop(0))
        if old:
            self.summary = self.summarise(self.summary, old)

    def context(self, question: str = "") -> list[Message]:
        return ([_note("Earlier in the conversation", self.summary)] if self.summary else []) + list(self.messages)

    def state(self) -> dict[str, Any]:
        return {"summary": self.summary, "messages": _dump(self.messages)}


class Entity:
    kind = "entity"

    def __init__(self, extract: Extractor | None = None, facts_per_entity: int = 3,
                 state: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.extract, self.facts_per_entity = extract or find_entities, facts_per_entity
        self.entities: dict[str, list[str]] = dict((state or {}).get("entities", {}))
        self.last: list[Message] = _load((state or {}).get("last", []))

    def add(self, message: Message) -> None:
        text = message.content or ""
        for name in self.extract(text):
            facts = self.entities.setdefault(name, [])
            for fact in _sentences_with(text, name):
                if fact not in facts:
                    facts.append(fact)
            self.entities[name] = facts[-self.facts_per_entity :]
        self.last = [*self.last, message][-2:]

    def context(self, question: str = "") -> list[Message]:
        wanted = [n for n in self.entities if n.lower() in question.lower()] if question else []
        wanted = wanted or list(self.entities)[-3:]
        lines = [f"{n}: {' '.join(self.entities[n])}" for n in wanted if self.entities[n]]
        return ([_note("Known facts", "\n".join(lines))] if lines else []) + list(self.last)

    def state(self) -> dict[str, Any]:
        return {"entities": self.entities, "last": _dump(self.last)}


STRATEGIES = ("buffer-window", "summary", "summary-buffer", "entity")


def make(kind: str, state: dict[str, Any] | None = None, model: Any = None) -> Memory:
    """A memory strategy by name, restored from `state`; `model` (if any) writes summaries."""
    from lingxi.errors import ConfigError

    summarise = model_summariser(model) if model is not None else None
    if kind == "buffer-window":
        return BufferWindow(state=state)
    if kind == "summary":
        return Summary(summarise, state=state)
    if kind == "summary-buffer":
        return SummaryBuffer(summarise, state=state)
    if kind == "entity":
        return Entity(state=state)
    raise ConfigError(f"Unknown memory strategy '{kind}'.", f"use one of: {', '.join(STRATEGIES)}")


# -- summarisers and the entity finder ----------------------------------------------------

def brief(summary: str, messages: Sequence[Message], limit: int = 600) -> str:
    """A deterministic summary: the first sentence of each message, newest kept when over `limit`."""
    lines = [summary] if summary else []
    for m in messages:
        first = next(iter(sentence_spans(m.content or "")), None)
        if first:
            who = "Q" if m.role == "user" else "A"
            lines.append(f"{who}: {(m.content or '')[first[0]:first[1]]}")
    text = " ".join(lines)
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def model_summariser(model: Any, max_tokens: int = 160) -> Summariser:
    """Summaries written by `model`; an empty or runaway reply falls back to `brief`."""
    from lingxi.rag import lang as L
    from lingxi.types import SamplingParams

    def summarise(summary: str, messages: Sequence[Message]) -> str:
        lines = "\n".join(f"{m.role}: {m.content}" for m in messages)
        language = L.detect(lines)
        prompt = L.SUMMARISE[language].format(summary=summary or "-", lines=lines)
        text = model.chat(prompt, SamplingParams(temperature=0.0, max_tokens=max_tokens)).text.strip()
        if not text or len(text) > 2 * (len(summary) + len(lines)):
            return brief(summary, messages)
        return text

    return summarise


_EN_NAME = re.compile(r"\b(?:[A-Z][\w.+-]*[A-Za-z0-9])(?:\s+[A-Z][\w.+-]*[A-Za-z0-9])*|\b[a-z]+\d[\w.-]*")
_ZH_QUOTED = re.compile(r"[《「“『]([^》」”』]{1,20})[》」”』]")
_COMMON = frozenset("I A The This That These Those It Its What When Where Which Who Why How Yes No And But "
                    "Or If Then So My Our Your We You He She They Please Thanks OK".split())  # fmt: skip


def find_entities(text: str) -> list[str]:
    """Named things in Chinese or English text without a model: capitalised or digit-bearing
    names (SmolLM2, New York, e5), Latin names inside Chinese text, and quoted Chinese names."""
    found = [m.group(0) for m in _EN_NAME.finditer(text)]
    found += _ZH_QUOTED.findall(text)
    out = []
    for name in found:
        words = name.split()
        while words and words[0] in _COMMON:
            words = words[1:]
        name = " ".join(words)
        if len(name) >= 2 and name not in out:
            out.append(name)
    return out


def _sentences_with(text: str, name: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text) if name.lower() in text[a:b].lower()]
