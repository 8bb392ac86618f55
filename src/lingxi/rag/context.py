"""Retrieve passages and fit them to the model's context window.

    sources = retrieve(kb, "灵犀支持哪些模型？", k=4)
    if not relevant(sources, Thresholds()): ...          # nothing close enough: abstain
    shown = fit(sources, model, budget=1024)              # token-aware, most relevant first
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lingxi.guard.hooks import fence_source, screen_hits
from lingxi.knowledge.fusion import coverage
from lingxi.knowledge.text import sentence_spans, terms
from lingxi.rag.answer import Source, Thresholds
from lingxi.types import Hit

DEFAULT_N_CTX = 4096


def retrieve(kb: Any, query: str, k: int = 4, filters: Any = None) -> list[Source]:
    """The k best passages for `query` from a KnowledgeBase (hybrid search), numbered from 1."""
    hits: list[Hit] = kb.search(query, k=k, filters=filters) if query.strip() else []
    return as_sources(screen_hits(hits), query)  # the guard drops (or marks) chunks carrying injections


def as_sources(hits: Sequence[Hit], query: str) -> list[Source]:
    qterms = terms(query)
    out = []
    for n, h in enumerate(hits, start=1):
        c = h.chunk
        cos = h.scores.get("vector")
        out.append(Source(n=n, chunk_id=c.id, source=c.source, text=c.text, page=c.page, headings=list(c.headings),
                          score=round(float(h.score), 4), cosine=None if cos is None else round(float(cos), 4),
                          coverage=round(coverage(qterms, c), 4),
                          start_s=c.metadata.get("start_s"), end_s=c.metadata.get("end_s")))  # fmt: skip
    return out


def relevant(sources: Sequence[Source], thresholds: Thresholds, lang: str = "en", question: str = "") -> bool:
    """True when some passage is close enough to a question in `lang` to be worth answering from.
    An English passage for a Chinese question is judged by the cross-lingual threshold (e5 rates pairs across
    languages lower than within one; calibrated on XQuAD zh→en by bench/trust_verify.py), or by
    holding every Latin-script term of the question (grep, -L, ssh) — never by the same-language
    cosine, which refused right cross-lingual hits."""
    from lingxi.rag import lang as L

    t = thresholds
    cos, cov = (t.retrieval_cosine_zh, t.retrieval_coverage_zh) if lang == "zh" else (t.retrieval_cosine, t.retrieval_coverage)
    for s in sources:
        if lang == "zh" and L.detect(s.text) == "en":  # measured for Chinese questions over English passages
            if (s.cosine is not None and s.cosine >= t.retrieval_cosine_cross) or latin_coverage(question, s.text) >= 1.0:
                return True
        elif (s.cosine is not None and s.cosine >= cos) or s.coverage >= cov:
            return True
    return False


_LATIN_TERM = re.compile(r"(?<![\w-])-{0,2}[A-Za-z][A-Za-z0-9_.+-]*[A-Za-z0-9]|(?<![\w-])-[A-Za-z]\b|\d+(?:\.\d+)?")


def latin_coverage(question: str, passage: str) -> float:
    """Share of the question's Latin-script terms and numbers (names, options, versions) found in the
    passage as whole words; 0 when the question has none."""
    want = {w.lower() for w in _LATIN_TERM.findall(question)}
    if not want:
        return 0.0
    low = passage.lower()
    found = sum(bool(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w])", low)) for w in want)
    return found / len(want)


def window(model: Any) -> int:
    """The model's context size in tokens (n_ctx for local models; a safe default otherwise)."""
    return int(getattr(model, "n_ctx", None) or DEFAULT_N_CTX)


def format_source(s: Source) -> str:
    """One numbered passage as the model sees it, fenced as data (lingxi.guard.fence). Headings
    are left out: small models copy them into the answer as if they were sentences."""
    return fence_source(s.text, f"[{s.n}] " + " ".join(s.text.split()), n=s.n)


def fit(sources: Sequence[Source], model: Any, budget: int) -> list[Source]:
    """Keep sources in order while their formatted text fits `budget` model tokens; the first
    one that does not fit is cut at a sentence boundary (if at least one sentence fits).
    Sources keep their numbers, so [n] in the prompt and in the answer agree."""
    kept: list[Source] = []
    left = budget
    for s in sources:
        cost = model.count_tokens(format_source(s)) + 1
        if cost <= left:
            kept.append(s)
            left -= cost
            continue
        cut = _cut(s, model, left)
        if cut is not None:
            kept.append(cut)
        break
    return kept


def _cut(s: Source, model: Any, budget: int) -> Source | None:
    spans = list(sentence_spans(s.text))
    best = None
    lo, hi = 1, len(spans) - 1
    while lo <= hi:  # the most leading sentences that fit
        mid = (lo + hi) // 2
        cand = s.model_copy(update={"text": s.text[: spans[mid - 1][1]]})
        if model.count_tokens(format_source(cand)) + 1 <= budget:
            best, lo = cand, mid + 1
        else:
            hi = mid - 1
    return best


def budget_for(model: Any, fixed_text: str, max_tokens: int, cap: int | None = None) -> int:
    """Tokens left for sources once the fixed prompt text and the answer are reserved.
    `cap` bounds it (small models read long prompts slowly and lose the thread)."""
    left = window(model) - model.count_tokens(fixed_text) - max_tokens - 64  # chat-template slack
    return max(0, min(left, cap) if cap else left)
