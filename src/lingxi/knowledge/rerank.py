"""Optional reranking of search hits with a cross-encoder the user already has.

    >>> kb.search("离线安装", k=5, rerank=CrossEncoderReranker("/models/bge-reranker-base"))

Any object with ``score(query, texts) -> list[float]`` works as a reranker.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from lingxi.errors import ModelError, missing_extra
from lingxi.types import Hit


@runtime_checkable
class Reranker(Protocol):
    def score(self, query: str, texts: Sequence[str]) -> Sequence[float]: ...


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder from a local folder (loaded on first use, offline)."""

    def __init__(self, path: str, device: str = "cpu", batch_size: int = 16) -> None:
        self.path, self.device, self.batch_size = path, device, batch_size
        self._model: Any = None

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                from sentence_transformers import CrossEncoder
            except ImportError as exc:
                raise missing_extra("sentence-transformers", "minilm") from exc
            try:
                self._model = CrossEncoder(self.path, device=self.device)
            except (OSError, ValueError) as exc:
                raise ModelError(f"Could not load the cross-encoder at {self.path}: {exc}.",
                                 "point at a local sentence-transformers CrossEncoder folder") from exc  # fmt: skip
        pairs = [(query, t) for t in texts]
        return [float(s) for s in self._model.predict(pairs, batch_size=self.batch_size)]


def rerank(query: str, hits: list[Hit], reranker: Reranker, k: int) -> list[Hit]:
    """Re-order hits by the reranker's score (kept in ``scores['rerank']``)."""
    if not hits:
        return []
    scores = reranker.score(query, [h.chunk.text for h in hits])
    ranked = sorted(zip(hits, scores, strict=True), key=lambda p: p[1], reverse=True)
    return [Hit(chunk=h.chunk, score=s, scores={**h.scores, "rerank": s}) for h, s in ranked[:k]]
