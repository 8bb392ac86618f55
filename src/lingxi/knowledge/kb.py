"""`KnowledgeBase`: a named, on-disk knowledge base under ``$LINGXI_HOME/kb/NAME``.

    >>> kb = KnowledgeBase.create("docs")            # multilingual-e5-small by default
    >>> report = kb.ingest("~/notes")                 # keyword-searchable at once, then embeds
    >>> for hit in kb.search("离线安装", k=5): print(hit.chunk.source, hit.scores)

The folder holds ``kb.json`` (the embedding model id, vector size and chunking)
and the store. Opening a KB with another embedding model is refused: vectors of
two models cannot be compared.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lingxi.config import Settings, load_settings
from lingxi.errors import ConfigError, StoreError
from lingxi.knowledge.embed import get_embedder, model_id
from lingxi.knowledge.fusion import search_store
from lingxi.knowledge.ingest import IngestReport, OnFile, Progress, ingest_path
from lingxi.knowledge.languages import LanguageCentres
from lingxi.knowledge.lock import writer_lock
from lingxi.knowledge.splitter import Splitter, embed_text
from lingxi.knowledge.store import Filters, Store
from lingxi.knowledge.text import check_analyzer
from lingxi.types import Hit

_NAME = re.compile(r"^[\w][\w.-]{0,63}$")
Mode = Literal["hybrid", "keyword", "vector"]


def kb_root(settings: Settings | None = None) -> Path:
    return (settings or load_settings()).home_dir / "kb"


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(f"'{name}' is not a valid knowledge-base name.", "use letters, digits, '-', '_' or '.'")
    return name


class KnowledgeBase:
    """A knowledge base. Construct with `create` or `open`; nothing heavy loads until used."""

    def __init__(self, path: Path, config: dict[str, Any], embedder: Any = None, store: Store | None = None) -> None:
        self.path = path
        self.config = config
        self.name = config["name"]
        self._embedder = embedder
        self._store = store
        self._languages: LanguageCentres | None = None

    # -- lifecycle -------------------------------------------------------------
    @classmethod
    def create(
        cls, name: str, embedding: str | Any = "e5", *, chunk_tokens: int = 256, overlap: int = 32,
        analyzer: str = "bigram", settings: Settings | None = None, exist_ok: bool = False,
        store: str = "lancedb", dsn: str | None = None,
    ) -> KnowledgeBase:  # fmt: skip
        """A new, empty knowledge base. `store` names a registered store backend: "lancedb"
        (embedded, the default) or "pgvector" (PostgreSQL; `dsn`, else LINGXI_PG_DSN / pg_dsn).
        kb.json keeps a given DSN without its password (libpq then reads PGPASSWORD or ~/.pgpass)."""
        path = kb_root(settings) / _check_name(name)
        if (path / "kb.json").exists():
            if exist_ok:
                return cls.open(name, embedding, settings=settings)
            raise StoreError(f"A knowledge base named '{name}' already exists.", f"use it, or remove it: lingxi kb rm {name}")
        embedder = get_embedder(embedding)
        Splitter(chunk_tokens, overlap)  # validate before writing anything
        check_analyzer(analyzer)
        store_class(store)  # an unknown backend fails before anything is written
        config = {
            "name": name, "embedding": embedding if isinstance(embedding, str) else embedder.name,
            "model_id": model_id(embedder), "dim": _dim(embedder), "chunk_tokens": chunk_tokens,
            "overlap": overlap, "analyzer": analyzer, "store": store, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }  # fmt: skip
        if store == "pgvector":
            from lingxi.knowledge.pg import table_for, without_password

            config.update(table=table_for(name), schema="lingxi", **({"dsn": without_password(dsn)} if dsn else {}))
        created = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        kb = cls(path, config, embedder)
        if dsn:
            kb._store = store_class(store)(dsn, config["dim"], table=config["table"], schema="lingxi", analyzer=analyzer)
        try:
            kb.store.count()  # create the empty store now, so later concurrent opens never race to create it
        except Exception:
            if created:
                shutil.rmtree(path, ignore_errors=True)
            raise
        (path / "kb.json").write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
        return kb

    @classmethod
    def open(cls, name: str, embedding: str | Any | None = None, *, settings: Settings | None = None) -> KnowledgeBase:
        path = kb_root(settings) / _check_name(name)
        try:
            config = json.loads((path / "kb.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            known = ", ".join(cls.names(settings)) or "none yet"
            raise StoreError(f"No knowledge base named '{name}'.", f"create it with: lingxi kb create {name} (known: {known})") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"The knowledge base '{name}' is damaged: {exc}.", f"remove it: lingxi kb rm {name}") from exc
        embedder = get_embedder(embedding if embedding is not None else config["embedding"])
        if model_id(embedder) != config["model_id"]:
            raise StoreError(
                f"The knowledge base '{name}' was built with the embedding model '{config['model_id']}', "
                f"not '{model_id(embedder)}'.",
                f"open it with embedding='{config['embedding']}', or create a new knowledge base for the other model",
            )
        return cls(path, config, embedder)

    @staticmethod
    def names(settings: Settings | None = None) -> list[str]:
        root = kb_root(settings)
        return sorted(p.name for p in root.iterdir() if (p / "kb.json").exists()) if root.is_dir() else []

    @classmethod
    def remove(cls, name: str, *, settings: Settings | None = None) -> None:
        path = kb_root(settings) / _check_name(name)
        if not (path / "kb.json").exists():
            raise StoreError(f"No knowledge base named '{name}'.", "see the list with: lingxi kb ls")
        config = json.loads((path / "kb.json").read_text(encoding="utf-8"))
        from lingxi.knowledge.worker import stop

        stop(path)  # its background embedding worker goes first: it would write into a removed folder
        if config.get("store", "lancedb") != "lancedb":  # a server-side table goes too
            drop = getattr(store_class(config["store"]).from_kb(path, config), "drop", None)
            if drop:
                drop()
        shutil.rmtree(path)

    # -- parts -------------------------------------------------------------------
    @property
    def analyzer(self) -> str:
        return str(self.config.get("analyzer", "bigram"))

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = get_embedder(self.config["embedding"])
        return self._embedder

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = store_class(self.config.get("store", "lancedb")).from_kb(self.path, self.config)
        return self._store

    @property
    def languages(self) -> LanguageCentres:
        if self._languages is None:
            self._languages = LanguageCentres(self.path)
        return self._languages

    def splitter(self) -> Splitter:
        counter = getattr(self.embedder, "count_tokens", None)
        kwargs = {"count_tokens": counter} if counter else {}
        return Splitter(self.config["chunk_tokens"], self.config["overlap"], **kwargs)

    # -- ingest ----------------------------------------------------------------------
    def ingest(
        self, path: str | Path, *, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
        embed: Literal["wait", "later"] = "wait", progress: Progress | None = None, wait_lock: float | None = 0,
        on_file: OnFile | None = None,
    ) -> IngestReport:  # fmt: skip
        """Index new and changed files under `path` and drop removed ones. Chunks are
        keyword-searchable as soon as this returns (or, with embed='wait', after their vectors).
        One writer at a time: another process ingesting into this KB makes this raise StoreError
        at once (`wait_lock`=0), after `wait_lock` seconds, or never (None: wait for it).
        Ctrl-C raises `IngestInterrupted` after writing every finished file."""
        with writer_lock(self.path, self.name, f"lingxi kb ingest {self.name} {path}", wait_lock):
            report = ingest_path(self.store, self.splitter(), path, include, exclude, progress, on_file=on_file)
            dupes = getattr(self.store, "duplicate_ids", lambda: {})()
            if dupes:  # a second line of defence: a writer that bypassed the lock raced us
                self.store.dedupe(sorted(dupes))
        if embed == "wait":
            report.embedding = self.embed_pending(progress=progress)
        if report.added or report.changed or report.deleted or (report.embedding or {}).get("embedded"):
            self.store.optimize()  # fold new rows into the indexes, compact, drop old versions
        return report

    def count_languages(self, batch: int = 4096) -> dict[str, int]:
        """Recount the language centres from every embedded chunk, batch by batch (for KBs embedded
        before lingxi kept them: `embed_pending` does this when the file is missing)."""
        self.languages.reset()
        chunks = iter(getattr(self.store, "iter_chunks", lambda: iter(()))())
        while part := list(itertools.islice(chunks, batch)):
            vectors = self.store.get_vectors([c.id for c in part])
            have = [c for c in part if c.id in vectors]
            if have:
                self.languages.add([embed_text(c) for c in have], np.stack([vectors[c.id] for c in have]))
        return self.languages.counts()

    def embed_pending(
        self, batch: int | None = None, limit: int | None = None, progress: Progress | None = None
    ) -> dict[str, Any]:
        """Embed chunks that have no vector yet, batch by batch. Safe to stop and resume. The batch is
        64 chunks, times the embedder's `concurrency` (a remote one sends that many requests at once)."""
        batch = batch or 64 * max(1, int(getattr(self.embedder, "concurrency", 1) or 1))
        started, done, spent = time.perf_counter(), 0, 0.0
        if not self.languages.known() and self.store.count(embedded=True):
            self.count_languages()  # a KB embedded before language centres were kept
        total = self.store.count(embedded=False)
        if progress and total:
            progress("embeddings", 0, total if limit is None else min(total, limit))
        while limit is None or done < limit:
            todo = self.store.pending(batch if limit is None else min(batch, limit - done))
            if not todo:
                break
            t0 = time.perf_counter()
            vectors = self.embedder.embed([embed_text(c) for c in todo], kind="passage")
            spent += time.perf_counter() - t0
            self.store.set_vectors({c.id: v for c, v in zip(todo, vectors, strict=True)})
            self.languages.add([embed_text(c) for c in todo], vectors)
            done += len(todo)
            if progress:
                progress("embeddings", done, total)
        wall = time.perf_counter() - started
        return {"embedded": done, "seconds": round(wall, 3), "model_seconds": round(spent, 3),
                "passages_per_s": round(done / spent, 2) if spent else 0.0}  # fmt: skip

    def summarize(
        self, model: str | Any | None = None, *, embed: Literal["wait", "later"] = "wait",
        progress: Progress | None = None, **options: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """Build the tree summary index (chunk -> section -> document) with `model` (a ChatModel,
        an alias, or None for the configured default) and store the summaries as searchable nodes
        (kind "summary"). See `lingxi.knowledge.summary`."""
        from lingxi.knowledge.summary import summarize

        from lingxi.models.funnel import open_chat

        model = open_chat(model)
        with writer_lock(self.path, self.name, f"lingxi kb summarize {self.name}", options.pop("wait_lock", 0)):
            report = summarize(self, model, progress=progress, **options).as_dict()
        if embed == "wait":
            report["embedding"] = self.embed_pending(progress=progress)
        if report["documents"]:
            self.store.optimize()
        return report

    def check(self, repair: bool = False, *, wait_lock: float | None = 0) -> dict[str, Any]:
        """Find duplicate ids, orphans, mixed file versions and missing vectors (see
        `lingxi.knowledge.check`); with `repair`, fix them under the writer lock."""
        from lingxi.knowledge import check

        if not repair:
            return check.find(self.store).as_dict()
        with writer_lock(self.path, self.name, f"lingxi kb check {self.name} --repair", wait_lock):
            report = check.repair(self.store, check.find(self.store))
        if report.repaired:
            self.store.optimize()
        return report.as_dict()

    # -- search ------------------------------------------------------------------------
    def search(
        self, query: str, k: int = 5, filters: Filters | None = None, mode: Mode = "hybrid", rerank: Any = None
    ) -> list[Hit]:
        """The k best chunks for `query`; each Hit carries per-method scores. With `rerank`
        (a `Reranker`), the top candidates are re-ordered by it."""
        if rerank is not None:
            from lingxi.knowledge.rerank import rerank as apply

            return apply(query, self.search(query, max(4 * k, 20), filters, mode), rerank, k)
        if mode not in ("hybrid", "keyword", "vector"):
            raise ConfigError(f"Unknown search mode '{mode}'.", "use 'hybrid', 'keyword' or 'vector'")
        embed = lambda: self.embedder.embed([query], kind="query")[0]  # noqa: E731
        return search_store(self.store, query, k, filters, mode, embed, self.analyzer, self.languages.centres())

    # -- facts ---------------------------------------------------------------------------
    def sources(self) -> dict[str, str]:
        return self.store.sources()

    def info(self) -> dict[str, Any]:
        total = self.store.count()
        embedded = self.store.count(embedded=True)
        return {**self.config, "path": str(self.path), "sources": len(self.store.sources()), "chunks": total,
                "embedded": embedded, "pending": total - embedded}  # fmt: skip

    def __repr__(self) -> str:
        return f"KnowledgeBase(name={self.name!r}, model_id={self.config['model_id']!r})"


def store_class(name: str) -> Any:
    """The registered store backend `name` (a class with ``from_kb(path, config)``)."""
    from lingxi.registry import default_registry

    cls = default_registry().get("store", name)
    if not hasattr(cls, "from_kb"):
        raise ConfigError(f"The store provider '{name}' cannot open a knowledge base (it has no from_kb).",
                          "give the store class a classmethod from_kb(path, config) returning the store")  # fmt: skip
    return cls


def _dim(embedder: Any) -> int:
    dim = getattr(embedder, "dim", None)  # remote models only know theirs after a call
    return int(dim) if dim else int(embedder.embed(["dimension probe"], kind="passage").shape[1])

