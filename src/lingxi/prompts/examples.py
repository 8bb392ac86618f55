"""Choosing few-shot examples: by embedding similarity, or by maximal marginal relevance.

    sel = ExampleSelector(examples, embedder="e5", key="input")
    shots = sel.select("送餐太慢了", k=3)              # the three most similar
    shots = sel.select("送餐太慢了", k=3, method="mmr")  # similar but not redundant

The examples are embedded once, on the first selection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from lingxi.errors import ConfigError

Method = Literal["similar", "mmr"]


def _unit(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norms == 0, 1.0, norms)


def top_similar(query: np.ndarray, candidates: np.ndarray, k: int) -> list[int]:
    """Indexes of the k candidates most cosine-similar to the query, best first."""
    sims = _unit(candidates) @ _unit(query)
    return [int(i) for i in np.argsort(-sims, kind="stable")[:k]]


def mmr(query: np.ndarray, candidates: np.ndarray, k: int, lambda_: float = 0.5) -> list[int]:
    """Maximal marginal relevance: trade similarity to the query (lambda_) against redundancy (1 - lambda_)."""
    if not 0.0 <= lambda_ <= 1.0:
        raise ConfigError(f"MMR lambda must be between 0 and 1, not {lambda_}.", "1 = pure similarity, 0 = pure diversity")
    cands = _unit(candidates)
    relevance = cands @ _unit(query)
    chosen: list[int] = []
    left = list(range(len(cands)))
    while left and len(chosen) < k:
        if chosen:
            redundancy = (cands[left] @ cands[chosen].T).max(axis=1)
        else:
            redundancy = np.zeros(len(left))
        scores = lambda_ * relevance[left] - (1 - lambda_) * redundancy
        best = left[int(np.argmax(scores))]
        chosen.append(best)
        left.remove(best)
    return chosen


class ExampleSelector:
    def __init__(self, examples: Sequence[Mapping[str, Any]], embedder: str | Any = "e5", key: str = "input") -> None:
        self.examples = list(examples)
        self.key = key
        self._embedder_spec = embedder
        self._vectors: np.ndarray | None = None
        missing = [i for i, e in enumerate(self.examples) if key not in e]
        if missing:
            raise ConfigError(f"Example {missing[0]} has no '{key}' field to compare with the query.",
                              f"give every example a '{key}', or pass key= the field to embed")

    def _embedder(self) -> Any:
        from lingxi.knowledge.embed import get_embedder

        self._embedder_spec = get_embedder(self._embedder_spec)
        return self._embedder_spec

    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            texts = [str(e[self.key]) for e in self.examples]
            self._vectors = self._embedder().embed(texts, kind="query")
        return self._vectors

    def select(self, query: str, k: int = 3, method: Method = "similar", lambda_: float = 0.5) -> list[dict[str, Any]]:
        if not self.examples or k <= 0:
            return []
        q = self._embedder().embed([query], kind="query")[0]
        vecs = self.vectors()
        if method == "similar":
            idx = top_similar(q, vecs, k)
        elif method == "mmr":
            idx = mmr(q, vecs, k, lambda_)
        else:
            raise ConfigError(f"Unknown example selection method '{method}'.", "use 'similar' or 'mmr'")
        return [dict(self.examples[i]) for i in idx]
