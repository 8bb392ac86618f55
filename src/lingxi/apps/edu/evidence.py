"""The glue every role shares: find passages in a course and check sentences against them.

Retrieval and verification are the RAG module's public functions (`lingxi.rag.retrieve`,
`split_claims`, `verify`, `Vectors`), so every improvement to the verifier reaches the
coverage report, the quiz reviewer, the lesson plans and the grader alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lingxi.knowledge.text import sentence_spans
from lingxi.rag import Source, retrieve
from lingxi.rag.verify import Vectors, quote, split_claims, verify  # (the package's `verify` is also its module's name)


def passages(kb: Any, query: str, k: int = 4) -> list[Source]:
    """The k best passages of the course for `query`, numbered from 1."""
    return retrieve(kb, query, k=k)


def vectors_for(kb: Any, sources: Sequence[Source]) -> Vectors | None:
    return Vectors(kb) if any(s.cosine is not None for s in sources) else None


def check(sentences: Sequence[str], sources: Sequence[Source], kb: Any = None, question: str = "", *,
          cite_all: bool = False, mode: str = "claim") -> list[Any]:
    """One verdict (lingxi.rag.SentenceVerdict) per sentence, judged against `sources`; a text the
    splitter cuts into several claims is supported only when every one of them is (its weakest
    verdict is returned). Empty when there are no sources. `mode="topic"` judges syllabus topics
    (the verifier's topic mode: a fragment is covered by a passage holding its words)."""
    if not sources:
        return []
    groups = [split_claims(s) for s in sentences]
    if cite_all:  # every source counts as cited: the verdict lists each one that supports the sentence
        for g in groups:
            for c in g:
                c.cited = [x.n for x in sources]
    flat = [c for g in groups for c in g]
    vectors = vectors_for(kb, sources) if kb is not None else None
    verdicts = iter(verify(flat, list(sources), question, vectors, mode=mode) if flat else [])
    out = []
    for g in groups:
        vs = [next(verdicts) for _ in g]
        bad = [v for v in vs if v.verdict != "supported"]
        out.append(min(bad or vs, key=lambda v: v.lexical) if vs else None)
    return out


def supported(sentence: str, sources: Sequence[Source], kb: Any = None, question: str = "") -> tuple[bool, Any]:
    """Whether some source supports `sentence`, and the verdict."""
    verdicts = check([sentence], sources, kb, question)
    v = verdicts[0] if verdicts else None
    return bool(v and v.verdict == "supported"), v


def best_sentence(text: str, passage: str, limit: int = 200) -> str:
    """The passage sentence sharing the most terms with `text` (the quote to show): the verifier's own quote."""
    return quote(text, passage, limit)


def file_name(source: str) -> str:
    return Path(source).name


def citation(s: Source, about: str) -> dict[str, Any]:
    """A citation as the reports show it: file, page, heading and the quote."""
    return {"file": file_name(s.source), "page": s.page, "heading": " > ".join(s.headings) or None,
            "quote": best_sentence(about, s.text), "chunk_id": s.chunk_id}


def sentences_of(text: str) -> list[str]:
    """The sentences of a passage, whitespace collapsed."""
    return [" ".join(text[a:b].split()) for a, b in sentence_spans(text)]


_MD = re.compile(r"^#+\s*|[*_`>]")


def plain(text: str) -> str:
    return _MD.sub("", text).strip()
