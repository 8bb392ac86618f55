"""The embedded default store: one LanceDB table holding chunks, keyword terms and vectors.

Keyword search is LanceDB's native BM25 full-text index over a pre-analysed
``terms`` column (CJK bigrams + stemmed words, see `lingxi.knowledge.text`),
indexed with the plain whitespace tokenizer, so Chinese works without any
dictionary download. Rows written after the last index update are still found
(flat scan) until `optimize()` folds them in. Vectors start as zeros with
``embedded = false`` and are filled in later by the embedding step; vector
search only looks at embedded rows.

LanceDB's Python API changes fast: everything that touches it lives here
(tested with lancedb==0.40.0).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from lingxi.errors import StoreError
from lingxi.knowledge.encoding import missing_core
from lingxi.knowledge.splitter import embed_text
from lingxi.knowledge.store import Filters, check_sources, sql_literal, where_clause
from lingxi.knowledge.text import check_analyzer, terms
from lingxi.types import Chunk

T = TypeVar("T")
TABLE = "chunks"
COLUMNS = ["id", "source", "file_hash", "text", "headings", "page", "start", "end", "hash", "kind", "metadata"]
ANN_MIN_ROWS = 50_000  # below this a flat scan is fast enough (a few ms per 10k rows)
REFINE = 40  # candidates re-ranked by full vectors, at least


def _retry(fn: Callable[[], T], attempts: int = 5) -> T:
    """LanceDB commits are optimistic: retry a write that lost a race with another writer."""
    for n in range(attempts):
        try:
            return fn()
        except Exception as exc:  # lance raises plain RuntimeError/OSError for commit conflicts
            text = str(exc).lower()
            if n == attempts - 1 or not any(w in text for w in ("conflict", "retry", "concurrent")):
                raise
            time.sleep(0.05 * 2**n)
    raise AssertionError("unreachable")


def _index_once(create: Callable[[], Any]) -> None:
    """Create an index unless another process, opening the same new store, just did."""
    try:
        _retry(create)
    except Exception as exc:
        if "exist" not in str(exc).lower():
            raise


class LanceStore:
    """A `Store` in a LanceDB folder. Construction touches nothing on disk."""

    @classmethod
    def from_kb(cls, path: Path, config: Mapping[str, Any]) -> LanceStore:
        """The store of a knowledge base folder (kb.json's ``"store": "lancedb"``)."""
        return cls(Path(path) / "lance", dim=int(config["dim"]), analyzer=str(config.get("analyzer", "bigram")))

    def __init__(self, path: str | Path, dim: int, analyzer: str = "bigram") -> None:
        self.path = Path(path)
        self.dim = int(dim)
        self.analyzer = check_analyzer(analyzer)
        self._tbl: Any = None
        self._lock = threading.RLock()
        self._cache: tuple[int, dict[Any, Any]] = (-1, {})  # see _versioned

    # -- setup ---------------------------------------------------------------
    def _schema(self) -> Any:
        import pyarrow as pa

        return pa.schema([
            ("id", pa.string()), ("source", pa.string()), ("file_hash", pa.string()), ("text", pa.string()),
            ("headings", pa.list_(pa.string())), ("page", pa.int32()), ("start", pa.int64()), ("end", pa.int64()),
            ("hash", pa.string()), ("kind", pa.string()), ("metadata", pa.string()), ("terms", pa.string()),
            ("embedded", pa.bool_()), ("vector", pa.list_(pa.float32(), self.dim)),
        ])  # fmt: skip

    @property
    def table(self) -> Any:
        with self._lock:
            if self._tbl is None:
                self._tbl = self._open()
            return self._tbl

    def _open(self) -> Any:
        try:
            import lancedb
            from lancedb.index import FTS, BTree
        except ImportError as exc:
            raise missing_core("lancedb") from exc
        db = lancedb.connect(str(self.path), read_consistency_interval=timedelta(0))
        if TABLE in db.list_tables().tables:
            tbl = db.open_table(TABLE)
            have = tbl.schema.field("vector").type.list_size
            if have != self.dim:
                raise StoreError(
                    f"The store at {self.path} holds {have}-dimensional vectors, not {self.dim}.",
                    "use the embedding model the knowledge base was created with",
                )
            return tbl
        tbl = db.create_table(TABLE, schema=self._schema(), exist_ok=True)
        fts = FTS(base_tokenizer="whitespace", lower_case=False, stem=False, remove_stop_words=False,
                  ascii_folding=False, max_token_length=64)  # fmt: skip
        _index_once(lambda: tbl.create_index("terms", config=fts, replace=False))
        for column in ("id", "source"):  # merges, vector updates and deletes look rows up by these
            _index_once(lambda c=column: tbl.create_index(c, config=BTree(), replace=False))
        return tbl

    # -- rows ----------------------------------------------------------------
    def _row(self, chunk: Chunk, vector: np.ndarray | None, file_hash: str) -> dict[str, Any]:
        meta = {k: v for k, v in chunk.metadata.items() if k not in ("kind", "file_hash")}
        return {
            "id": chunk.id, "source": chunk.source, "file_hash": file_hash, "text": chunk.text,
            "headings": list(chunk.headings), "page": chunk.page, "start": chunk.start, "end": chunk.end,
            "hash": chunk.hash, "kind": str(chunk.metadata.get("kind", "text")),
            "metadata": json.dumps(meta, ensure_ascii=False), "terms": " ".join(terms(embed_text(chunk), self.analyzer)),
            "embedded": vector is not None,
            "vector": self._zeros() if vector is None else np.asarray(vector, np.float32).tolist(),
        }  # fmt: skip

    def _zeros(self) -> list[float]:
        """One shared list of zeros for every row still waiting for its vector (a 10 MB file's 15k
        rows each holding their own 384 Python floats took ~150 MB)."""
        if getattr(self, "_zero_list", None) is None:
            self._zero_list = [0.0] * self.dim
        return self._zero_list

    @staticmethod
    def _chunk(row: Mapping[str, Any]) -> Chunk:
        meta = json.loads(row.get("metadata") or "{}")
        meta["kind"] = row.get("kind") or "text"
        meta["file_hash"] = row.get("file_hash") or ""
        return Chunk(
            id=row["id"], source=row["source"], text=row["text"], start=row["start"] or 0, end=row["end"] or 0,
            page=row.get("page"), headings=list(row.get("headings") or []), hash=row.get("hash") or "", metadata=meta,
        )  # fmt: skip

    def _rows(self, chunks: Sequence[Chunk], vectors: Mapping[str, np.ndarray] | None, file_hashes: Mapping[str, str]):
        vectors = dict(vectors or {})
        missing = [c.id for c in chunks if c.id not in vectors]
        vectors.update(self._reusable_vectors(chunks, missing))
        return [self._row(c, vectors.get(c.id), file_hashes.get(c.source, c.metadata.get("file_hash", ""))) for c in chunks]

    def _reusable_vectors(self, chunks: Sequence[Chunk], ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors already stored for unchanged chunks (same id and content hash): never embed twice."""
        if not ids:
            return {}
        want = {c.id: c.hash for c in chunks}
        found = self._select(f"embedded = true AND id IN ({', '.join(map(sql_literal, ids))})", ["id", "hash", "vector"])
        return {r["id"]: np.asarray(r["vector"], np.float32) for r in found if want.get(r["id"]) == r["hash"]}

    def _select(self, where: str, columns: list[str], limit: int | None = None) -> list[dict[str, Any]]:
        if self.table.count_rows() == 0:
            return []
        q = self.table.search().where(where).select(columns)
        q = q.limit(limit) if limit else q.limit(None)
        return q.to_list()

    # -- writes ----------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], vectors: Mapping[str, np.ndarray] | None = None) -> int:
        if not chunks:
            return 0
        rows = self._rows(chunks, vectors, {})
        _retry(lambda: self.table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(rows))
        return len(rows)

    def replace_sources(
        self, sources: Mapping[str, str], chunks: Sequence[Chunk], vectors: Mapping[str, np.ndarray] | None = None
    ) -> int:
        """Make `chunks` the whole content of `sources` ({source: file hash}) in one commit."""
        check_sources(sources, chunks)
        scope = f"source IN ({', '.join(map(sql_literal, sources))})"
        if not chunks:
            self.delete_sources(list(sources))
            return 0
        rows = self._rows(chunks, vectors, sources)
        merge = lambda: (  # noqa: E731
            self.table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
            .when_not_matched_by_source_delete(scope).execute(rows)
        )  # fmt: skip
        _retry(merge)
        return len(rows)

    def delete_sources(self, sources: Sequence[str]) -> int:
        if not sources:
            return 0
        where = f"source IN ({', '.join(map(sql_literal, sources))})"
        before = self.table.count_rows(where)
        if before:
            _retry(lambda: self.table.delete(where))
        return before

    def set_vectors(self, vectors: Mapping[str, np.ndarray]) -> int:
        """Store computed vectors; chunks deleted in the meantime are skipped, not revived."""
        if not vectors:
            return 0
        where = f"id IN ({', '.join(map(sql_literal, vectors))})"
        rows = self._select(where, [*COLUMNS, "terms"])
        for r in rows:
            r["vector"] = np.asarray(vectors[r["id"]], np.float32).tolist()
            r["embedded"] = True
        if rows:
            _retry(lambda: self.table.merge_insert("id").when_matched_update_all().execute(rows))
        return len(rows)

    # -- reads -----------------------------------------------------------------
    def sources(self) -> dict[str, str]:
        if self.table.count_rows() == 0:
            return {}
        data = self.table.search().select(["source", "file_hash"]).limit(None).to_arrow()
        return dict(zip(data.column("source").to_pylist(), data.column("file_hash").to_pylist(), strict=True))

    def count(self, filters: Filters | None = None, *, embedded: bool | None = None) -> int:
        where = where_clause(filters)
        if embedded is not None:
            where = " AND ".join(w for w in (where, f"embedded = {sql_literal(embedded)}") if w)
        cache = self._versioned()  # counts are asked on every search: one scan per table version
        if ("count", where) not in cache:
            cache[("count", where)] = self.table.count_rows(where or None)
        return cache[("count", where)]

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        words = list(dict.fromkeys(terms(query, self.analyzer)))
        if not words or k <= 0:
            return []
        cache = self._versioned()
        q = self.table.search(" ".join(words), query_type="fts", fts_columns="terms")
        where = where_clause(filters)
        if where:
            q = q.where(where, prefilter=True)
        rows = q.select([*COLUMNS, "embedded", "vector", "_score"]).limit(k).to_list()
        cache["hits"] = {r["id"]: np.asarray(r["vector"], np.float32) if r["embedded"] else None for r in rows}
        return [(self._chunk(r), float(r["_score"])) for r in rows]

    def vector_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        if k <= 0:
            return []
        # rows still waiting for their vector hold zeros: filter them out only while there are any
        pending = "embedded = true" if self.count(embedded=False) else ""
        where = " AND ".join(w for w in (pending, where_clause(filters)) if w)
        q = self.table.search(np.asarray(vector, np.float32), vector_column_name="vector").distance_type("cosine")
        if self.has_vector_index():
            # the index's 8-bit vectors lose neighbours (1M clustered rows: recall@10 0.80); re-ranking
            # at least REFINE candidates by their full vectors brings it back (0.997 with 50 for k=10)
            q = q.refine_factor(max(1, -(-REFINE // k)))
        if where:
            q = q.where(where, prefilter=True)
        rows = q.select([*COLUMNS, "_distance"]).limit(k).to_list()
        return [(self._chunk(r), 1.0 - float(r["_distance"])) for r in rows]

    def pending(self, limit: int) -> list[Chunk]:
        return [self._chunk(r) for r in self._select("embedded = false", COLUMNS, limit)]

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        cached = self._versioned().get("hits", {})
        if cached and all(i in cached for i in ids):
            return {i: v for i in ids if (v := cached[i]) is not None}
        rows = self._select(f"embedded = true AND id IN ({', '.join(map(sql_literal, ids))})", ["id", "vector"])
        return {r["id"]: np.asarray(r["vector"], np.float32) for r in rows}

    def iter_chunks(self, batch: int = 4096) -> Iterator[Chunk]:
        """Every chunk, in storage order (for export)."""
        if self.table.count_rows() == 0:
            return
        for rb in self.table.search().select(COLUMNS).limit(None).to_batches(batch):
            yield from (self._chunk(r) for r in rb.to_pylist())

    # -- audit (lingxi kb check) --------------------------------------------------------
    def scan(self, columns: Sequence[str], batch: int = 8192) -> Iterator[Any]:
        """Every row's `columns`, as pyarrow record batches (vectors stay in Arrow, unconverted)."""
        if self.table.count_rows() == 0:
            return
        yield from self.table.search().select(list(columns)).limit(None).to_batches(batch)

    def duplicate_ids(self) -> dict[str, int]:
        """Chunk ids stored more than once, with their row counts (one scan of the id column)."""
        import pyarrow.compute as pc

        if self.table.count_rows() == 0:
            return {}
        ids = self.table.search().select(["id"]).limit(None).to_arrow().column("id")
        counts = pc.value_counts(ids)
        values, n = counts.field("values").to_pylist(), counts.field("counts").to_pylist()
        return {v: c for v, c in zip(values, n, strict=True) if c > 1}

    def dedupe(self, ids: Sequence[str]) -> int:
        """Keep one row per id in `ids` (an embedded one when there is one); return the rows removed."""
        if not ids:
            return 0
        where = f"id IN ({', '.join(map(sql_literal, ids))})"
        rows = self._select(where, [*COLUMNS, "terms", "embedded", "vector"])
        keep: dict[str, dict[str, Any]] = {}
        for r in rows:
            best = keep.get(r["id"])
            if best is None or (r["embedded"] and not best["embedded"]):
                keep[r["id"]] = r
        _retry(lambda: self.table.delete(where))
        _retry(lambda: self.table.add(list(keep.values())))
        return len(rows) - len(keep)

    def delete_ids(self, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        _retry(lambda: self.table.delete(f"id IN ({', '.join(map(sql_literal, ids))})"))
        return len(ids)

    def mark_pending(self, ids: Sequence[str]) -> int:
        """Mark chunks as waiting for their vector again (their vector was lost or broken)."""
        if not ids:
            return 0
        where = f"id IN ({', '.join(map(sql_literal, ids))})"
        _retry(lambda: self.table.update(where=where, values={"embedded": False}))
        return len(ids)

    # -- upkeep ----------------------------------------------------------------
    def optimize(self, cleanup_older_than: timedelta = timedelta(minutes=10)) -> None:
        """Compact small writes, fold new rows into the indexes, drop old versions, and build
        the ANN index once the table is big enough for flat scans to be slow."""
        _retry(lambda: self.table.optimize(cleanup_older_than=cleanup_older_than))
        if self.count(embedded=True) >= ANN_MIN_ROWS and not self.has_vector_index():
            self.build_vector_index()

    def has_vector_index(self) -> bool:
        cache = self._versioned()
        if "indexed" not in cache:
            cache["indexed"] = any("vector" in i.columns for i in self.table.list_indices())
        return cache["indexed"]

    def _versioned(self) -> dict[Any, Any]:
        """Facts about the table's current version: row counts, whether the vector index exists, and
        the vectors of the last keyword hits (hybrid search fuses those next: no second lookup).
        A new version (any write, by any process) starts an empty dict."""
        version = self.table.version
        if self._cache[0] != version:
            self._cache = (version, {})
        return self._cache[1]

    def build_vector_index(self) -> None:
        from lancedb.index import IvfHnswSq

        rows = self.count(embedded=True)
        config = IvfHnswSq(distance_type="cosine", num_partitions=max(1, rows // 4096))
        self.table.create_index("vector", config=config, replace=True)
