"""The scale-out store: PostgreSQL + pgvector.

Pointing lingxi at an existing PostgreSQL takes one setting, a DSN::

    export LINGXI_PG_DSN="postgresql://USER:PASSWORD@HOST:5432/DBNAME"

The database needs the ``vector`` extension (pgvector >= 0.8.0). lingxi runs
``CREATE EXTENSION IF NOT EXISTS vector`` itself; if its role may not, ask the
database owner to run it once. Each knowledge base is one table in the schema
``lingxi`` (created on first use), so several knowledge bases - and several
lingxi installations - can share a database. Nothing is written before the
first call; the password never appears in logs, errors or ``repr``. For a
throw-away local server, ``scripts/pg.sh start`` installs PostgreSQL 15 +
pgvector and prints a DSN.

How it works: one table per knowledge base holds the chunks, their keyword
terms and (once embedded) their vectors, so both indexes change in the same
transaction and can never disagree.

* Vector search: exact while the table is small, then an HNSW index (cosine),
  built by `optimize()` (without blocking writers) once ``hnsw_min_rows`` rows
  are embedded. Measured on 2 cores (bench/pg_store.py): an exact scan of 21k
  384-d rows takes 46 ms, upserts run at 1,600 rows/s without the index and
  160 rows/s with it, and building it afterwards takes 16 s per 20k rows.
  Queries use ``hnsw.ef_search = 100``; filtered ones
  ``hnsw.iterative_scan = relaxed_order``, so a selective filter still returns
  ``k`` hits instead of the few that survive the first ``ef_search`` candidates.
* Keyword search: BM25 over a ``tsvector`` of lingxi's own terms (CJK bigrams,
  stemmed words: `lingxi.knowledge.text.terms`, the same analysis as the
  embedded store). The lexemes are written directly, as PostgreSQL's ``simple``
  configuration would keep them but without its parser re-splitting terms such
  as ``don't``; a GIN index finds candidates and BM25 (k1=1.2, b=0.75) ranks them.
* Writes: `replace_sources` deletes and upserts every chunk of the given files in
  one transaction; unchanged chunks (same id and content hash) keep their vectors.

Tested with PostgreSQL 15.18, pgvector 0.8.0, psycopg 3.3.9, pgvector (Python) 0.5.1.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from lingxi.errors import StoreError, missing_extra
from lingxi.knowledge.pg_sql import (
    B, BM25_SQL, DF_CAP, K1, SELECT, UPSERT_SQL, column, ident, quote_lexeme,
    redact, settings_dsn, table_for, tsvector_literal, without_password,
)
from lingxi.knowledge.splitter import embed_text
from lingxi.knowledge.store import Filters, check_sources, where_clause
from lingxi.knowledge.text import check_analyzer, terms
from lingxi.types import Chunk

DSN_ENV = "LINGXI_PG_DSN"
STATS_TTL_S = 30.0
HNSW_MIN_ROWS = 10_000  # below this an exact scan is fast enough (~20 ms) and always right


class PgStore:
    """A `Store` in one PostgreSQL table. Construction connects to nothing.

    ``dsn`` defaults to the ``LINGXI_PG_DSN`` environment variable; ``table`` and
    ``schema`` name the table (one per knowledge base). ``iterative_scan`` is the
    ``hnsw.iterative_scan`` mode for filtered queries (``"off"`` is pgvector's
    default and loses most filtered results; kept for benchmarks). The HNSW index
    is built by `optimize()` once ``hnsw_min_rows`` rows have vectors.
    """

    def __init__(
        self, dsn: str | None = None, dim: int = 384, *, table: str = "chunks", schema: str = "lingxi",
        iterative_scan: str = "relaxed_order", ef_search: int = 100, hnsw_min_rows: int = HNSW_MIN_ROWS,
        analyzer: str = "bigram",
    ) -> None:  # fmt: skip
        self.dsn = dsn or os.environ.get(DSN_ENV, "") or settings_dsn()
        if not self.dsn:
            raise StoreError(
                "No PostgreSQL DSN was given for the pgvector store.",
                f"set {DSN_ENV}=postgresql://USER:PASSWORD@HOST:5432/DBNAME or pg_dsn in lingxi.toml "
                "(scripts/pg.sh start prints one)",
            )
        if iterative_scan not in ("off", "relaxed_order", "strict_order"):
            raise StoreError(f"Unknown hnsw.iterative_scan mode '{iterative_scan}'.", "use relaxed_order, strict_order or off")
        self.iterative_scan = iterative_scan
        self.ef_search, self.hnsw_min_rows = int(ef_search), int(hnsw_min_rows)
        self.dim = int(dim)
        self.analyzer = check_analyzer(analyzer)
        self.table, self.schema = table, schema
        self._ident = f"{ident(schema)}.{ident(table)}"
        self._hnsw_name = ident(f"{table}_hnsw")
        self._hnsw = f"{ident(schema)}.{self._hnsw_name}"
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._setup_lock = threading.Lock()
        self._ready = False
        self._stats: tuple[float, int, float] | None = None  # (when, rows, average terms per row)

    @classmethod
    def from_kb(cls, path: Any, config: Mapping[str, Any]) -> PgStore:
        """The store of a knowledge base whose kb.json says ``"store": "pgvector"``. The DSN is the
        one given at creation (kept without its password: libpq then reads PGPASSWORD or
        ~/.pgpass), else ``LINGXI_PG_DSN`` / ``pg_dsn`` in lingxi.toml."""
        return cls(config.get("dsn") or None, int(config["dim"]), table=str(config.get("table") or "chunks"),
                   schema=str(config.get("schema") or "lingxi"), analyzer=str(config.get("analyzer", "bigram")))  # fmt: skip

    def __repr__(self) -> str:
        return f"PgStore(dsn={redact(self.dsn)!r}, dim={self.dim}, table={self.schema}.{self.table})"

    # -- connections ---------------------------------------------------------------
    def _connect(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:
            raise missing_extra("psycopg", "pg") from exc
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(
                f"Could not connect to PostgreSQL at {redact(self.dsn)}: {str(exc).strip().splitlines()[0]}.",
                f"check {DSN_ENV}, and that the server is running (scripts/pg.sh start)",
            ) from None
        if not self._ready:
            with self._setup_lock:
                if not self._ready:
                    self._setup(conn)
                    self._ready = True
        from pgvector.psycopg import register_vector

        register_vector(conn)
        conn.execute("SET standard_conforming_strings = on")  # filter literals rely on it
        conn.execute("SET jit = off")  # JIT compiles for ~80 ms per query here and these queries take a few
        return conn

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._connect()
        ok = False
        try:
            yield conn
            ok = True
        finally:
            if ok and not conn.closed and self._idle.qsize() < 8:
                self._idle.put(conn)
            else:
                conn.close()

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()

    def _q(self, text: str, where: str = "") -> str:
        """SQL with {t} as the quoted table name; `where` is filter SQL from `where_clause` (values are quoted)."""
        return text.replace("{t}", self._ident).replace("{where}", where.replace("%", "%%") if where else "true")

    def _setup(self, conn: Any) -> None:
        from psycopg import errors, sql

        ident = sql.Identifier(self.schema, self.table)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"lingxi:{self.schema}.{self.table}",))
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except errors.InsufficientPrivilege:
                raise StoreError(
                    "The pgvector extension is not enabled in this database and lingxi may not enable it.",
                    "ask the database owner to run: CREATE EXTENSION vector;",
                ) from None
            except errors.FeatureNotSupported as exc:  # extension files not installed on the server
                raise StoreError(f"pgvector is not installed on the PostgreSQL server: {exc}.",
                                 "install pgvector 0.8 on the server (scripts/pg.sh does it for a test server)") from None  # fmt: skip
            have = conn.execute(
                "SELECT a.atttypmod FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s AND a.attname = 'vector'", (self.schema, self.table),
            ).fetchone()  # fmt: skip
            if have is not None:
                if have[0] != self.dim:
                    raise StoreError(
                        f"The table {self.schema}.{self.table} holds {have[0]}-dimensional vectors, not {self.dim}.",
                        "use the embedding model the knowledge base was created with",
                    )
                return
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            conn.execute(sql.SQL(
                "CREATE TABLE {t} (id text PRIMARY KEY, source text NOT NULL, file_hash text NOT NULL DEFAULT '', "
                "text text NOT NULL, headings text[] NOT NULL DEFAULT '{{}}', page integer, start bigint, \"end\" bigint, "
                "hash text NOT NULL DEFAULT '', kind text NOT NULL DEFAULT 'text', metadata jsonb NOT NULL DEFAULT '{{}}', "
                "terms tsvector NOT NULL, n_terms integer NOT NULL, vector vector({dim}))"
            ).format(t=ident, dim=sql.Literal(self.dim)))  # fmt: skip
            # keep vectors in the row (text and terms move to TOAST first): an exact scan then reads one
            # page per few rows instead of detoasting every vector (2k 384-d rows: 500 buffers, not 12,300)
            conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN vector SET STORAGE MAIN").format(ident))
            name = lambda suffix: sql.Identifier(f"{self.table}_{suffix}")  # noqa: E731
            for suffix, how in (("source", "(source)"), ("terms", "USING gin (terms)"),
                                ("pending", "(id) WHERE vector IS NULL")):  # fmt: skip
                conn.execute(sql.SQL("CREATE INDEX {} ON {} " + how).format(name(suffix), ident))

    # -- rows ----------------------------------------------------------------------
    def _row(self, chunk: Chunk, vector: Any, file_hash: str) -> tuple[Any, ...]:
        meta = {k: v for k, v in chunk.metadata.items() if k not in ("kind", "file_hash")}
        words = terms(embed_text(chunk), self.analyzer)
        vec = None if vector is None else np.asarray(vector, np.float32)
        if vec is not None and vec.shape != (self.dim,):
            raise StoreError(f"A vector for '{chunk.id}' has shape {vec.shape}, not ({self.dim},).",
                             "use the embedding model the knowledge base was created with")  # fmt: skip
        return (chunk.id, chunk.source, file_hash, chunk.text, list(chunk.headings), chunk.page, chunk.start, chunk.end,
                chunk.hash, str(chunk.metadata.get("kind", "text")), json.dumps(meta, ensure_ascii=False),
                tsvector_literal(words), len(words), vec)  # fmt: skip

    @staticmethod
    def _chunk(row: Sequence[Any]) -> Chunk:
        cid, source, file_hash, text, headings, page, start, end, digest, kind, meta = row[:11]
        meta = dict(meta or {})
        meta["kind"], meta["file_hash"] = kind or "text", file_hash or ""
        return Chunk(id=cid, source=source, text=text, start=start or 0, end=end or 0, page=page,
                     headings=list(headings or []), hash=digest or "", metadata=meta)  # fmt: skip

    def _write(self, conn: Any, chunks: Sequence[Chunk], vectors: Mapping[str, Any] | None, hashes: Mapping[str, str]) -> int:
        vectors = vectors or {}
        rows = [self._row(c, vectors.get(c.id), hashes.get(c.source, c.metadata.get("file_hash", ""))) for c in chunks]
        if rows:
            with conn.cursor() as cur:
                cur.executemany(self._q(UPSERT_SQL), rows)
        self._stats = None
        return len(rows)

    # -- writes ----------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], vectors: Mapping[str, np.ndarray] | None = None) -> int:
        if not chunks:
            return 0
        with self._conn() as conn, conn.transaction():
            return self._write(conn, chunks, vectors, {})

    def replace_sources(
        self, sources: Mapping[str, str], chunks: Sequence[Chunk], vectors: Mapping[str, np.ndarray] | None = None
    ) -> int:
        """Make `chunks` the whole content of `sources` ({source: file hash}) in one transaction."""
        check_sources(sources, chunks)
        if not sources:
            return 0
        with self._conn() as conn, conn.transaction():
            # one writer per source at a time; sorted so two writers cannot deadlock
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(s, 0)) FROM unnest(%s::text[]) s ORDER BY s",
                         (sorted(sources),))  # fmt: skip
            conn.execute(self._q("DELETE FROM {t} WHERE source = ANY(%s) AND NOT (id = ANY(%s))"),
                         (list(sources), [c.id for c in chunks]))  # fmt: skip
            return self._write(conn, chunks, vectors, sources)

    def delete_sources(self, sources: Sequence[str]) -> int:
        if not sources:
            return 0
        with self._conn() as conn:
            n = conn.execute(self._q("DELETE FROM {t} WHERE source = ANY(%s)"), (list(sources),)).rowcount
        self._stats = None
        return n

    def set_vectors(self, vectors: Mapping[str, np.ndarray]) -> int:
        """Store computed vectors; chunks deleted in the meantime are skipped, not revived."""
        if not vectors:
            return 0
        rows = [(np.asarray(v, np.float32), cid) for cid, v in vectors.items()]
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(self._q("UPDATE {t} SET vector = %s WHERE id = %s"), rows)
            return max(cur.rowcount, 0)

    # -- reads -------------------------------------------------------------------------
    def _fetch(self, text: str, params: Sequence[Any] = (), where: str = "") -> list[Any]:
        with self._conn() as conn:
            return conn.execute(self._q(text, where), params).fetchall()

    def sources(self) -> dict[str, str]:
        return dict(self._fetch("SELECT source, max(file_hash) FROM {t} GROUP BY source"))

    def count(self, filters: Filters | None = None, *, embedded: bool | None = None) -> int:
        where = where_clause(filters, column)
        if embedded is not None:
            where = " AND ".join(w for w in (where, f"vector IS {'NOT ' if embedded else ''}NULL") if w)
        return self._fetch("SELECT count(*) FROM {t} WHERE {where}", where=where)[0][0]

    def _corpus_stats(self) -> tuple[int, float]:
        """Rows and average terms per row for BM25, cached for a few seconds."""
        now = time.monotonic()
        if self._stats is None or now - self._stats[0] > STATS_TTL_S:
            n, avg = self._fetch("SELECT count(*), coalesce(avg(n_terms), 0) FROM {t}")[0]
            self._stats = (now, int(n), float(avg))
        return self._stats[1], self._stats[2]

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        words = list(dict.fromkeys(w for w in terms(query, self.analyzer) if len(w.encode()) < 1024))
        if not words or k <= 0:
            return []
        n, avgdl = self._corpus_stats()
        if n == 0:
            return []
        lexemes = [quote_lexeme(w) for w in words]
        rows = self._fetch(
            BM25_SQL,
            {"n": n, "cap": DF_CAP, "terms": words, "tqs": lexemes, "any": " | ".join(lexemes),
             "k1": K1, "k1p1": K1 + 1, "b": B, "avgdl": avgdl, "k": k},
            where_clause(filters, lambda c: f'h."{c}"'),
        )  # fmt: skip
        return [(self._chunk(r), float(r[-1])) for r in rows]

    def vector_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        if k <= 0:
            return []
        where = where_clause(filters, column)
        vec = np.asarray(vector, np.float32)
        with self._conn() as conn, conn.transaction():
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(self.ef_search, min(k, 1000))),))
            if where:  # without it HNSW returns only the filtered survivors of its first ef_search candidates
                conn.execute(f"SET LOCAL hnsw.iterative_scan = {self.iterative_scan}")
            rows = conn.execute(
                self._q(f"SELECT {SELECT}, vector <=> %s AS d FROM {{t}} WHERE vector IS NOT NULL AND {{where}} "
                        "ORDER BY vector <=> %s LIMIT %s", where), (vec, vec, k),
            ).fetchall()  # fmt: skip
        hits = [(self._chunk(r), 1.0 - float(r[-1])) for r in rows]
        return sorted(hits, key=lambda h: h[1], reverse=True)  # relaxed_order may be slightly out of order

    def pending(self, limit: int) -> list[Chunk]:
        if limit <= 0:
            return []
        return [self._chunk(r) for r in self._fetch(f"SELECT {SELECT} FROM {{t}} WHERE vector IS NULL ORDER BY id LIMIT %s", (limit,))]

    def iter_chunks(self, batch: int = 4096) -> Iterator[Chunk]:
        """Every chunk, ordered by id (for export and summaries), fetched page by page."""
        after = ""
        while True:
            rows = self._fetch(f"SELECT {SELECT} FROM {{t}} WHERE id > %s ORDER BY id LIMIT %s", (after, batch))
            yield from (self._chunk(r) for r in rows)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        rows = self._fetch("SELECT id, vector FROM {t} WHERE id = ANY(%s) AND vector IS NOT NULL", (list(ids),))
        return {cid: np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, np.float32) for cid, v in rows}

    # -- upkeep ------------------------------------------------------------------------
    def optimize(self) -> None:
        """Reclaim deleted rows, refresh planner statistics, and build the HNSW index once enough
        rows are embedded (every index, once built, stays current on each write)."""
        with self._conn() as conn:
            conn.execute(self._q("VACUUM (ANALYZE) {t}"))
        self._stats = None
        if self.count(embedded=True) >= max(self.hnsw_min_rows, 1) and not self.has_vector_index():
            self.build_vector_index(rebuild=False)

    def has_vector_index(self) -> bool:
        rows = self._fetch("SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)", (self._hnsw,))
        return bool(rows and rows[0][0])

    def build_vector_index(self, rebuild: bool = True) -> None:
        """(Re)build the HNSW index (cosine) without blocking writers; minutes per 100k rows on 2 cores."""
        key = f"lingxi-hnsw:{self.schema}.{self.table}"
        with self._conn() as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))  # one builder at a time
            try:
                if not rebuild and self.has_vector_index():
                    return  # another process built it meanwhile
                conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {self._hnsw}")  # a leftover of a crashed build
                conn.execute(self._q(f"CREATE INDEX CONCURRENTLY {self._hnsw_name} ON {{t}} USING hnsw (vector vector_cosine_ops)"))
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))

    def drop(self) -> None:
        """Remove this store's table (and everything in it)."""
        with self._conn() as conn:
            conn.execute(self._q("DROP TABLE IF EXISTS {t}"))
        self._ready = False
        self._stats = None


__all__ = ["PgStore", "redact", "table_for", "tsvector_literal", "without_password"]
