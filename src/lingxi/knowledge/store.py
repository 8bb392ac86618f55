"""The `Store` protocol every knowledge-base backend implements, and its filter language.

A store keeps chunks, their keyword terms and (once computed) their vectors in
one place so the keyword and vector indexes can never disagree. Writes are
per source and atomic: `replace_sources` swaps every chunk of the given
sources in one commit, so a crash leaves each file as it was before or after.

Filters are a dict of column -> value (equality), list (any of) or, for
``source``, a glob with ``*``::

    {"source": "/docs/*.md", "page": [1, 2], "kind": "markdown"}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lingxi.errors import StoreError
from lingxi.types import Chunk

Filters = Mapping[str, Any]
FILTER_FIELDS = ("source", "page", "kind", "hash", "file_hash", "id")


@runtime_checkable
class Store(Protocol):
    """A chunk store with keyword and vector search. `dim` is the vector size."""

    dim: int

    def upsert(self, chunks: Sequence[Chunk], vectors: Mapping[str, np.ndarray] | None = None) -> int: ...

    def replace_sources(
        self, sources: Mapping[str, str], chunks: Sequence[Chunk], vectors: Mapping[str, np.ndarray] | None = None
    ) -> int: ...

    def delete_sources(self, sources: Sequence[str]) -> int: ...

    def sources(self) -> dict[str, str]: ...

    def count(self, filters: Filters | None = None, *, embedded: bool | None = None) -> int: ...

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]: ...

    def vector_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]: ...

    def pending(self, limit: int) -> list[Chunk]: ...

    def set_vectors(self, vectors: Mapping[str, np.ndarray]) -> int: ...

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...

    def optimize(self) -> None: ...


def check_sources(sources: Mapping[str, str], chunks: Sequence[Chunk]) -> None:
    """`replace_sources` needs the file hash of every source its chunks come from."""
    stray = {c.source for c in chunks} - set(sources)
    if stray:
        raise StoreError(f"Chunks of '{sorted(stray)[0]}' were passed without its file hash.", "list every source")


def sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise StoreError(f"Cannot filter on a value of type {type(value).__name__}.", "use strings, numbers or lists")


def where_clause(filters: Filters | None, column=lambda name: name) -> str:
    """SQL for a filter dict (LanceDB and PostgreSQL share this dialect)."""
    parts = []
    for key, value in (filters or {}).items():
        if key not in FILTER_FIELDS:
            raise StoreError(f"Cannot filter on '{key}'.", f"filter on one of: {', '.join(FILTER_FIELDS)}")
        col = column(key)
        if isinstance(value, list | tuple | set):
            if not value:
                return "false"
            parts.append(f"{col} IN ({', '.join(sql_literal(v) for v in value)})")
        elif key == "source" and isinstance(value, str) and "*" in value:
            parts.append(f"{col} LIKE {sql_literal(value.replace('*', '%'))}")
        elif value is None:
            parts.append(f"{col} IS NULL")
        else:
            parts.append(f"{col} = {sql_literal(value)}")
    return " AND ".join(parts)
