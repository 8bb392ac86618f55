"""The knowledge base: loaders, Chinese-aware splitters, embeddings, stores and hybrid search.

    >>> from lingxi.knowledge import KnowledgeBase
    >>> kb = KnowledgeBase.create("docs")
    >>> kb.ingest("~/notes")
    >>> kb.search("怎么离线安装？", k=5)

Importing this package is cheap: heavy parts (LanceDB, models) load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KnowledgeBase", "Splitter", "load_file", "walk"]


def __getattr__(name: str) -> Any:
    if name == "KnowledgeBase":
        from lingxi.knowledge.kb import KnowledgeBase

        return KnowledgeBase
    if name == "Splitter":
        from lingxi.knowledge.splitter import Splitter

        return Splitter
    if name in ("load_file", "walk"):
        from lingxi.knowledge import loaders

        return getattr(loaders, name)
    raise AttributeError(name)
