"""Classic NLP on embeddings (zero-shot and logistic-regression classification, k-means clustering)
and prompt-based tasks (summarise, translate, entities, rewrite). Imports load lazily."""

from __future__ import annotations

from lingxi._lazy import lazy

__all__, __getattr__ = lazy(__name__, {
    "zero_shot": "classify", "EmbeddingClassifier": "classify", "cross_validate": "classify",
    "cluster_texts": "cluster", "read_texts": "data",
    "summarise": "tasks", "translate": "tasks", "extract_entities": "tasks", "rewrite": "tasks",
})
