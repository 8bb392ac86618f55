"""Classic NLP on embeddings (zero-shot and logistic-regression classification, k-means clustering)
and prompt-based tasks (summarise, translate, entities, rewrite). Imports load lazily."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "zero_shot": "classify", "EmbeddingClassifier": "classify", "cross_validate": "classify",
    "cluster_texts": "cluster", "read_texts": "data",
    "summarise": "tasks", "translate": "tasks", "extract_entities": "tasks", "rewrite": "tasks",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"lingxi.nlp.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
