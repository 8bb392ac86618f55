"""The grounded prompt: numbered sources, the question, and a request for [n] markers,
all in the question's language."""

from __future__ import annotations

from collections.abc import Sequence

from lingxi.rag import lang as L
from lingxi.rag.answer import Source
from lingxi.rag.context import format_source
from lingxi.types import Message


def fixed_text(question: str, language: L.Lang) -> str:
    """The prompt without its sources (to reserve its tokens before choosing sources)."""
    return L.SYSTEM[language] + L.USER[language].format(sources="", question=question)


def build_messages(
    question: str, sources: Sequence[Source], language: L.Lang, history: Sequence[Message] = ()
) -> list[Message]:
    """System instructions, then the conversation memory (if any), then sources + question."""
    block = "\n".join(format_source(s) for s in sources)
    return [
        Message(role="system", content=L.SYSTEM[language]),
        *history,
        Message(role="user", content=L.USER[language].format(sources=block, question=question)),
    ]
