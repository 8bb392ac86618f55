"""The grounded prompt: numbered sources, the question, and a request for [n] markers,
all in the question's language.

Layout for llama.cpp's prompt cache: the fixed instructions come first (the system message, then
the conversation memory), the variable part last (the passages, then the question). llama-cpp-python
keeps the KV cache of the previous prompt and evaluates only what follows the longest common
prefix, so every question after the first skips the instructions (measured in
bench/results/rag_ttft.md). Each passage is shown *focused*: only its sentences that share terms
with the question (at most `FOCUS_SENTENCES`, in their order), since prompt processing is where the
first-token time goes; verification still checks against the whole passage.
"""

from __future__ import annotations

from collections.abc import Sequence

from lingxi.knowledge.text import sentence_spans, terms
from lingxi.rag import lang as L
from lingxi.rag.answer import Source
from lingxi.rag.context import format_source
from lingxi.types import Message

FOCUS_SENTENCES = 3  # sentences kept per passage in the prompt; 0 shows whole passages


def fixed_text(question: str, language: L.Lang) -> str:
    """The prompt without its sources (to reserve its tokens before choosing sources)."""
    return L.SYSTEM[language] + L.USER[language].format(sources="", question=question)


def focus(source: Source, question: str, keep: int | None = None) -> Source:
    """The passage cut to its `keep` sentences that share the most terms with the question, in
    passage order (the whole passage when it is that short, or when no sentence shares a term)."""
    keep = FOCUS_SENTENCES if keep is None else keep
    spans = list(sentence_spans(source.text))
    if keep <= 0 or len(spans) <= keep:
        return source
    wanted = set(terms(question))
    overlap = [len(wanted & set(terms(source.text[a:b]))) for a, b in spans]
    if not any(overlap):
        return source
    best = sorted(sorted(range(len(spans)), key=lambda i: (-overlap[i], i))[:keep])
    joiner = "" if L.detect(source.text) == "zh" else " "
    return source.model_copy(update={"text": joiner.join(source.text[spans[i][0]:spans[i][1]] for i in best)})


def build_messages(
    question: str, sources: Sequence[Source], language: L.Lang, history: Sequence[Message] = (),
    keep: int | None = None,
) -> list[Message]:  # fmt: skip
    """System instructions, then the conversation memory (if any), then sources + question."""
    block = "\n".join(format_source(focus(s, question, keep)) for s in sources)
    return [
        Message(role="system", content=L.SYSTEM[language]),
        *history,
        Message(role="user", content=L.USER[language].format(sources=block, question=question)),
    ]
