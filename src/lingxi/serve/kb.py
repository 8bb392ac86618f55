"""Knowledge-base answers through the chat API: the model name ``kb:NAME`` or ``kb:NAME@MODEL``.

The last user message is answered from the knowledge base NAME with `lingxi.rag`
(grounded, verified citations, or an abstention); earlier messages are shown to the
model as conversation history. MODEL (default: the configured default model) is a
model this server serves, and the call waits in that model's fair queue like any other.

An unmodified OpenAI client gets a grounded answer: the message content is the answer
followed by markdown footnotes, one line per citation::

    lingxi serve starts an OpenAI-compatible server on port 8700 [1].

    [1]: docs/serve.md › Serving — “The command lingxi serve starts ... on port 8700.”

Extra fields (ignored by clients that do not know them; the official ``openai`` package
keeps them: ``completion.model_extra["citations"]`` or ``completion.citations``):

- ``citations``: a top-level list of ``{"n", "chunk_id", "source", "quote", "score"}``,
  one per footnote (``n`` is the number used in the text); on a stream it rides on the
  chunk that carries ``finish_reason``.
- ``abstained``: true when the knowledge base holds no passage that answers the question
  (the content then says so, and ``citations`` is empty).

Streaming: the answer is computed and verified first, then sent in word-sized pieces,
the footnotes last. ``GET /v1/models`` lists ``kb:NAME`` for each knowledge base.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from lingxi.errors import StoreError
from lingxi.serve.errors import ApiError
from lingxi.types import Message

PREFIX = "kb:"


def is_kb(model: str) -> bool:
    return model.startswith(PREFIX)


def split_name(model: str, default_model: str) -> tuple[str, str]:
    """('NAME', 'MODEL') from 'kb:NAME' or 'kb:NAME@MODEL'."""
    name, _, chat = model[len(PREFIX):].partition("@")
    if not name:
        raise ApiError(404, f"The model '{model}' names no knowledge base; use kb:NAME or kb:NAME@MODEL "
                       "(GET /v1/models lists them).", param="model", code="model_not_found")
    return name, chat or default_model


def names(settings: Any) -> list[str]:
    from lingxi.knowledge.kb import KnowledgeBase

    try:
        return KnowledgeBase.names(settings)
    except OSError:
        return []


class KnowledgeBases:
    """Knowledge bases opened by name, kept open for the server's life."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, name: str, model: str) -> Any:
        with self._lock:
            if name in self._open:
                return self._open[name]
        from lingxi.knowledge.kb import KnowledgeBase

        try:
            kb = KnowledgeBase.open(name, settings=self.settings)
        except StoreError as exc:
            if name not in names(self.settings):
                known = ", ".join(f"kb:{n}" for n in names(self.settings)) or "none yet"
                raise ApiError(404, f"The model '{model}' names the knowledge base '{name}', which does not exist "
                               f"on this server. Knowledge bases: {known}. Create one with: lingxi kb create {name}",
                               param="model", code="model_not_found") from exc
            raise
        with self._lock:
            return self._open.setdefault(name, kb)


def answer(kb: Any, chat: Any, msgs: list[Message], options: Any = None) -> Any:
    """Answer the last user message from `kb`; earlier turns are history (and a follow-up is
    rewritten into a standalone question for the search). Runs in a worker thread."""
    from lingxi.memory.rewrite import rewrite
    from lingxi.rag.pipeline import answer_question

    last = max((i for i, m in enumerate(msgs) if m.role == "user"), default=None)
    if last is None or not (msgs[last].content or "").strip():
        raise ApiError(400, "A knowledge-base model answers the last user message, and there is none with text.",
                       param="messages", code="invalid_value")
    history = [m.model_copy(update={"content": strip_footnotes(m.content)}) if m.role == "assistant" else m
               for m in msgs[:last] if m.role in ("user", "assistant", "system") and m.content]
    turns, asked = [], None
    for m in history:
        if m.role == "user":
            asked = m.content
        elif m.role == "assistant" and asked is not None:
            turns.append((asked, m.content))
            asked = None
    question = msgs[last].content
    query = rewrite(question, turns, chat) if turns else question
    return relative_sources(answer_question(question, kb, chat, history=history, query=query, options=options), kb)


def relative_sources(ans: Any, kb: Any) -> Any:
    """The answer with its file paths relative to the folder the KB was ingested from (the common
    folder of its sources), so that API clients never see this server's absolute paths."""
    try:
        known = list(kb.store.sources())
    except Exception:  # noqa: BLE001 - a store that cannot list sources: show file names only
        known = []
    base = os.path.commonpath(known) if known else ""
    if base in known:  # a KB of one file: its folder
        base = os.path.dirname(base)

    def shown(source: str) -> str:
        if base and (source == base or source.startswith(base.rstrip(os.sep) + os.sep)):
            return os.path.relpath(source, base)
        return os.path.basename(source) if os.path.isabs(source) else source

    return ans.model_copy(update={
        "citations": [c.model_copy(update={"source": shown(c.source)}) for c in ans.citations],
        "sources": [x.model_copy(update={"source": shown(x.source)}) for x in ans.sources]})


def strip_footnotes(text: str) -> str:
    """An earlier answer without the footnotes this module appended."""
    cut = re.search(r"\n\n\[\d+\]: .*\Z", text, re.S)
    return text[:cut.start()] if cut else text


def options(temperature: Any, max_tokens: Any) -> Any:
    """Pipeline options with the request's temperature and max_tokens, where it set them."""
    from dataclasses import replace

    from lingxi.rag.pipeline import Options

    o = Options()
    return replace(o, **{k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None})


def citations_json(ans: Any) -> list[dict[str, Any]]:
    return [{"n": c.n, "chunk_id": c.chunk_id, "source": c.source, "quote": c.quote, "score": c.score}
            for c in ans.citations]


def footnotes(ans: Any) -> str:
    """Markdown footnotes, one line per citation: '[n]: source › heading — “quote”'."""
    headings = {s.n: s.headings for s in ans.sources}
    lines = []
    for c in ans.citations:
        where = " › ".join([c.source, *headings.get(c.n, [])])
        quote = re.sub(r"\s+", " ", c.quote).strip()
        lines.append(f"[{c.n}]: {where} — “{quote}”")
    return "\n\n" + "\n".join(lines) if lines else ""


def content(ans: Any) -> str:
    return ans.text + footnotes(ans)


def pieces(text: str) -> list[str]:
    """The text in word-sized pieces (each with its trailing space) that join back to it."""
    return re.findall(r"\S+\s*|\s+", text)
