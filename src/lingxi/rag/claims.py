"""Fact-check text against passages or a knowledge base: the verifier as a library call.

    from lingxi.rag import verify_claims, verify_pairs
    verify_pairs([{"sentence": "tar -x extracts files.", "passage": "-x, --extract  extract files"}])
    verify_claims("灵犀可以离线运行。它由企鹅编写。", kb="docs")     # each sentence with its best passage

Both judge with `lingxi.rag.entail.Entailment` (rules, then the learned head on e5 vectors) and
return `ClaimCheck`s: ``supported`` (bool), ``verdict`` (entailed / contradicted / not stated),
``score`` (the head's probability; 0 when a rule decided), ``check`` (which check decided), and,
against a KB, the passage that supports it best, or else the one that contradicts it.
This is what `lingxi verify`, `POST /v1/verify` and the edu app call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from lingxi.errors import ConfigError


class ClaimCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sentence: str
    supported: bool
    verdict: str  # entailed | contradicted | not stated
    score: float
    check: str  # empty | number | negation | subject | anchor | lexical | nli | judge
    passage: str = ""  # the window of the passage compared (its best sentences)
    source: str = ""  # with a KB: the file of the passage, and its chunk and page
    chunk_id: str = ""
    page: int | None = None


def _embedder(embedder: Any) -> Any:
    if embedder is None or embedder is False:
        return None
    return _named(embedder) if isinstance(embedder, str) else embedder


@lru_cache(maxsize=4)
def _named(spec: str) -> Any:
    """One embedder per name for the process (loading e5 takes a second; the server verifies often)."""
    from lingxi.knowledge.embed import get_embedder

    return get_embedder(spec)


def verify_pairs(pairs: Iterable[Mapping[str, Any] | Sequence[str]], *, question: str = "",
                 embedder: Any = "e5", judge_model: Any = None) -> list[ClaimCheck]:  # fmt: skip
    """One ClaimCheck per (sentence, passage) pair, in order. A pair is a mapping with ``sentence``
    and ``passage`` (and optionally ``question``: what the sentence answers), or a 2-tuple.
    `embedder` ('e5', an object with ``embed(texts, kind)``, or None for the rules and words alone)."""
    from lingxi.rag.entail import Entailment

    items = [_pair(p, i, question) for i, p in enumerate(pairs)]
    judge = Entailment(_embedder(embedder), judge_model=judge_model)
    out = []
    for (sentence, passage, q), j in zip(items, judge.many(items), strict=True):
        out.append(ClaimCheck(sentence=sentence, supported=j.supported, verdict=j.verdict, score=j.score,
                              check=j.check, passage=j.window))  # fmt: skip
    return out


def _pair(p: Any, i: int, question: str) -> tuple[str, str, str]:
    if isinstance(p, Mapping):
        s, passage, q = p.get("sentence"), p.get("passage"), p.get("question", question)
    elif isinstance(p, Sequence) and not isinstance(p, str) and len(p) == 2:
        (s, passage), q = p, question
    else:
        raise ConfigError(f"Pair {i + 1} is neither {{'sentence', 'passage'}} nor a (sentence, passage) tuple.",
                          'write each pair as {"sentence": "...", "passage": "..."}')  # fmt: skip
    if not isinstance(s, str) or not isinstance(passage, str) or not s.strip() or not passage.strip():
        raise ConfigError(f"Pair {i + 1} needs a non-empty 'sentence' and 'passage' (both text).",
                          'write each pair as {"sentence": "...", "passage": "..."}')  # fmt: skip
    return s.strip(), passage, q if isinstance(q, str) else ""


def verify_claims(text: str | Sequence[str], kb: Any = None, *, passages: Sequence[str] | None = None,
                  question: str = "", k: int = 4, judge_model: Any = None) -> list[ClaimCheck]:  # fmt: skip
    """Each sentence of `text` (a draft, or a list of sentences) with its best supporting passage,
    or else its best contradicting one: searched in the knowledge base `kb` (a name or a
    KnowledgeBase, k passages per sentence), or taken from `passages`."""
    from lingxi.rag.verify import split_claims

    sentences = [c.text for c in split_claims(text)] if isinstance(text, str) else [s for s in text if s.strip()]
    if not sentences:
        return []
    if (kb is None) == (passages is None):
        raise ConfigError("verify_claims needs either a knowledge base or passages.", "pass kb='NAME' or passages=[...]")
    if passages is not None:
        return [_best(s, [(p, {}) for p in passages], question, None, judge_model) for s in sentences]
    from lingxi.rag.api import open_kb

    base = open_kb(kb)
    return [_from_kb(s, base, question, k, judge_model) for s in sentences]


def _from_kb(sentence: str, kb: Any, question: str, k: int, judge_model: Any) -> ClaimCheck:
    from lingxi.knowledge.splitter import embed_text

    hits = kb.search(sentence, k=k)
    cands = [(embed_text(h.chunk), {"source": h.chunk.source, "chunk_id": h.chunk.id, "page": h.chunk.page}) for h in hits]
    vecs = kb.store.get_vectors([h.chunk.id for h in hits]) if hits else {}
    return _best(sentence, cands, question, (kb.embedder, [vecs.get(h.chunk.id) for h in hits]), judge_model)


def _rank(j: Any) -> int:
    if j.verdict == "entailed":
        return 2 if j.cross else 0
    return 1 if j.verdict == "contradicted" else 3


def _best(sentence: str, cands: list[tuple[str, dict]], question: str, emb: Any, judge_model: Any) -> ClaimCheck:
    from lingxi.rag.entail import Entailment

    if not cands:
        return ClaimCheck(sentence=sentence, supported=False, verdict="not stated", score=0.0, check="retrieval")
    embedder, pvecs = emb if emb is not None else (_embedder("e5"), None)
    js = Entailment(embedder, judge_model=judge_model).many([(sentence, p, question) for p, _ in cands], passage_vectors=pvecs)
    # a passage in the sentence's own language that entails it, then one that contradicts it, then
    # cross-lingual entailment (weaker evidence), then the closest passage
    i = min(range(len(js)), key=lambda i: (_rank(js[i]), -js[i].score))
    j, meta = js[i], cands[i][1]
    return ClaimCheck(sentence=sentence, supported=j.supported, verdict=j.verdict, score=j.score, check=j.check,
                      passage=j.window, **meta)  # fmt: skip
