"""Extractive answers: the passage sentences that best answer the question, verbatim, cited.

No generation, so nothing can be invented: this is what `mode="extractive"` returns
and what `mode="auto"` falls back to when a model's answer fails verification.
Each candidate sentence is scored by the share of the question's terms it holds
plus its embedding similarity to the question; only the best few candidates by
words (and the opening sentences of the top passage, for questions in another
language than the passages) are embedded, to keep it fast on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lingxi.knowledge.text import sentence_spans, terms
from lingxi.rag.answer import SentenceVerdict, Source
from lingxi.rag.checks import states_nothing
from lingxi.rag.verify import Vectors

MAX_CANDIDATES = 8
MIN_CHARS = 6


@dataclass
class Candidate:
    n: int  # source number
    text: str
    order: int  # position in the passage
    lexical: float = 0.0
    cosine: float = 0.0

    @property
    def score(self) -> float:
        return self.lexical + self.cosine


def candidates(question: str, sources: Sequence[Source]) -> list[Candidate]:
    """Every sentence of the shown passages with its share of the question's terms."""
    q = set(terms(question))
    out, seen = [], set()
    for s in sources:
        for order, (a, b) in enumerate(sentence_spans(s.text)):
            text = " ".join(s.text[a:b].split())
            if len(text) < MIN_CHARS or text in seen or states_nothing(text):  # overlapping chunks repeat sentences
                continue
            seen.add(text)
            lex = len(q & set(terms(text))) / len(q) if q else 0.0
            out.append(Candidate(s.n, text, order, lexical=lex))
    return out


def shortlist(cands: list[Candidate], limit: int = MAX_CANDIDATES) -> list[Candidate]:
    """The best candidates by words, plus the first sentences of the top passage."""
    by_words = sorted(cands, key=lambda c: (c.lexical, -c.n, -c.order), reverse=True)
    keep = by_words[: max(1, limit - 2)]
    first = [c for c in cands if c.n == min(x.n for x in cands) and c.order < 2] if cands else []
    return list({id(c): c for c in [*keep, *first]}.values())[:limit]


def extract(
    question: str, sources: Sequence[Source], vectors: Vectors | None = None, max_sentences: int = 2,
    keep_ratio: float = 0.95, query: str | None = None,
) -> list[SentenceVerdict]:  # fmt: skip
    """The best sentence (and a runner-up scoring within `keep_ratio` of it), as verdicts.
    Words are matched with the question as asked (a follow-up's own words say what is new);
    the embedding with `query`, its standalone rewrite, when there is one."""
    short = shortlist(candidates(question, sources))
    if not short:
        return []
    _add_cosines(query or question, short, vectors)
    ranked = sorted(short, key=lambda c: c.score, reverse=True)
    best = ranked[0]
    chosen = [best] + [c for c in ranked[1:max_sentences] if c.score >= keep_ratio * best.score and c.score > 0]
    chosen.sort(key=lambda c: (c.n, c.order))  # read in passage order
    return [SentenceVerdict(text=c.text, cited=[c.n], citations=[c.n], verdict="supported", lexical=1.0,
                            cosine=round(c.cosine, 4), note="extracted verbatim", entailment="entailed",
                            check="extracted") for c in chosen]  # fmt: skip


def _add_cosines(question: str, cands: list[Candidate], vectors: Vectors | None) -> None:
    if vectors is None:
        return
    embed: Any = vectors.kb.embedder.embed
    q = embed([question], kind="query")[0]
    vecs = embed([c.text for c in cands], kind="passage")
    for c, v in zip(cands, vecs, strict=True):
        c.cosine = float(np.dot(q, v))
