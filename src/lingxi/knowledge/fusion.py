"""Hybrid search: fuse keyword (BM25) and vector results by how much evidence each has.

Plain reciprocal-rank fusion trusts both lists equally, which is wrong whenever
one method has nothing to go on: a Chinese question over English passages
shares almost no terms with them, so its BM25 list is noise (measured on XQuAD
zh->en: BM25 R@5 0.15, e5 0.90, RRF 0.49). Here each query gets its own weights:

* the keyword weight is the *coverage* of the best keyword hit, the share of the
  query's distinct terms it contains (1.0 when it has them all, ~0.05 when it
  matched one stray token);
* the vector weight is 1 (a dense model always has something to say) as long as
  vectors exist.

Scores are normalised per method (BM25 / best BM25; cosine min-max over the
candidates) and mixed with those weights. A candidate that only one method
returned gets its exact cosine from its stored vector, or 0 for BM25. A chunk
that is not embedded yet is judged by its keyword score alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from lingxi.knowledge.splitter import embed_text
from lingxi.knowledge.text import terms
from lingxi.types import Chunk, Hit

Scored = list[tuple[Chunk, float]]
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lingxi-search")


def search_store(
    store: Any, query: str, k: int, filters: Any = None, mode: str = "hybrid",
    query_vector: Callable[[], np.ndarray] | None = None, analyzer: str = "bigram",
    centres: dict[str, np.ndarray] | None = None,
) -> list[Hit]:  # fmt: skip
    """Keyword, vector or hybrid search over a `Store`. In hybrid mode the keyword search runs
    in a worker thread while this one embeds the query and searches vectors (both stores spend
    that time outside the GIL), then `fuse` merges them. `query_vector` embeds the query lazily:
    it is not called while no chunk has a vector. With `centres` (a KB mixing languages, see
    `lingxi.knowledge.languages`) vector similarities are language-centred."""
    if not query.strip() or k <= 0:
        return []
    pool = max(4 * k, 30)
    if mode == "keyword":
        return single(store.keyword_search(query, pool, filters), "keyword", k)
    pending = _POOL.submit(store.keyword_search, query, pool, filters) if mode == "hybrid" else None
    qvec, dense, offset = None, [], None
    try:
        if query_vector is not None and store.count(embedded=True):
            qvec = query_vector()
            dense = store.vector_search(qvec, pool, filters)
            if centres:
                dense, offset = _centred(store, query, qvec, dense, pool, filters, centres)
    finally:
        keyword = pending.result() if pending else []
    if mode == "vector":
        return single(dense, "vector", k)
    return fuse(query, keyword, dense, k, store.get_vectors, qvec, analyzer, offset)


def _centred(store: Any, query: str, qvec: np.ndarray, dense: Scored, pool: int, filters: Any,
             centres: dict[str, np.ndarray]) -> tuple[Scored, Callable[[str], float]]:  # fmt: skip
    """Dense hits for a KB that mixes languages: the plain search's plus those of the query moved
    to each other language's centre (with their plain cosines), ordered by centred similarity."""
    from lingxi.knowledge.languages import centred_order

    shifted, offset = centred_order(query, qvec, centres)
    seen = {c.id for c, _ in dense}
    extra = [c for v in shifted for c, _ in store.vector_search(v, pool, filters) if c.id not in seen]
    extra = list({c.id: c for c in extra}.values())
    vectors = store.get_vectors([c.id for c in extra]) if extra else {}
    dense = dense + [(c, float(np.dot(vectors[c.id], qvec))) for c in extra if c.id in vectors]
    dense.sort(key=lambda h: h[1] - offset(embed_text(h[0])), reverse=True)
    return dense, offset


def coverage(query_terms: Sequence[str], chunk: Chunk, analyzer: str = "bigram") -> float:
    """Share of the query's distinct terms that occur in the chunk."""
    wanted = set(query_terms)
    if not wanted:
        return 0.0
    return len(wanted & set(terms(embed_text(chunk), analyzer))) / len(wanted)


def fuse(
    query: str,
    keyword: Scored,
    dense: Scored,
    k: int,
    vectors_of: Callable[[list[str]], dict[str, np.ndarray]] | None = None,
    query_vector: np.ndarray | None = None,
    analyzer: str = "bigram",
    offset: Callable[[str], float] | None = None,
) -> list[Hit]:
    """Merge the two ranked lists into the k best `Hit`s with per-method scores. `offset(text)`
    is subtracted from a chunk's cosine before ranking (language centring, see
    `lingxi.knowledge.languages`); the reported "vector" score stays the plain cosine."""
    chunks = {c.id: c for c, _ in [*keyword, *dense]}
    bm25 = {c.id: s for c, s in keyword}
    cos = {c.id: s for c, s in dense}
    if query_vector is not None and vectors_of is not None:
        missing = [cid for cid in bm25 if cid not in cos]
        for cid, vec in vectors_of(missing).items():
            cos[cid] = float(np.dot(vec, query_vector))
    w_kw = coverage(terms(query, analyzer), keyword[0][0], analyzer) if keyword else 0.0
    w_vec = 1.0 if cos else 0.0
    top_bm25 = max(bm25.values(), default=0.0) or 1.0
    ranked = {cid: c - offset(embed_text(chunks[cid])) for cid, c in cos.items()} if offset else cos
    lo, hi = min(ranked.values(), default=0.0), max(ranked.values(), default=1.0)
    hits = []
    for cid, chunk in chunks.items():
        kw = bm25.get(cid, 0.0) / top_bm25
        if cid in cos:
            vec = (ranked[cid] - lo) / (hi - lo) if hi > lo else 1.0
            fused = (w_kw * kw + w_vec * vec) / ((w_kw + w_vec) or 1.0)
        else:  # not embedded yet: keyword evidence only
            fused = kw
        scores = {"keyword_weight": round(w_kw, 4), "vector_weight": w_vec}
        if cid in bm25:
            scores["keyword"] = bm25[cid]
        if cid in cos:
            scores["vector"] = cos[cid]
        hits.append(Hit(chunk=chunk, score=fused, scores=scores))
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits[:k]


def single(results: Scored, method: str, k: int) -> list[Hit]:
    """Hits from one method only (mode='keyword' or 'vector')."""
    return [Hit(chunk=c, score=s, scores={method: s}) for c, s in results[:k]]
