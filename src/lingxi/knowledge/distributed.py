"""Distributed ingest on a Ray cluster: loading, splitting and embedding as Ray Data map-batches.

    lingxi kb ingest docs /shared/corpus --engine ray                 # RAY_ADDRESS, or a local cluster
    lingxi kb ingest docs /shared/corpus --engine ray://head:10001    # Ray Client
    lingxi kb ingest docs /shared/corpus --engine ray:head:6379       # join a cluster's GCS directly

The same incremental semantics as the local path (`lingxi.knowledge.ingest`): the driver
hashes the files and compares them with what the store holds, so only new and changed
files go to the cluster; files that vanished are deleted. Each worker (one Ray Data
actor per CPU asked for) reads its files (the path must be visible to it at the same place:
a shared file system), splits them with the KB's splitter and embeds their chunks with the
KB's embedder (a local model loaded once per worker, or a remote OpenAI-compatible endpoint
with concurrent requests). The
driver writes whole files only, in batches, each batch one atomic commit
(`replace_sources`, vectors included), so:

- a worker killed mid-batch is restarted by Ray and its batch recomputed; chunk ids are
  deterministic and the driver keeps one copy per id, so nothing is written twice;
- a killed driver or head leaves every file as it was before or after; running the same
  command again picks up the files whose hash is not in the store yet.

Needs ``pip install 'lingxi[ray]'`` (ray 2.60.0 with Ray Data) on the driver and the workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.errors import ConfigError
from lingxi.knowledge.ingest import IngestReport, Progress
from lingxi.knowledge.loaders import walk
from lingxi.types import Chunk

_RAY_HINT = "pip install 'lingxi[ray]' (ray==2.60.0) on this machine and on the cluster's workers"


def parse_engine(engine: str) -> str | None:
    """``ray`` -> None (RAY_ADDRESS or a new local cluster), ``ray://h:p`` -> itself, ``ray:h:p`` -> ``h:p``."""
    if engine == "ray":
        return None
    if engine.startswith("ray://"):
        return engine
    if engine.startswith("ray:") and len(engine) > 4:
        return engine[4:]
    raise ConfigError(f"Unknown ingest engine '{engine}'.", "use --engine ray, ray://HEAD:10001 or ray:HEAD:6379")


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is what runs the stages
    except ImportError as exc:
        raise ConfigError("Distributed ingest needs Ray.", _RAY_HINT) from exc
    return ray


def connect(address: str | None) -> Any:
    """Join the cluster at `address` (None: RAY_ADDRESS, else start a local one); reuse a live connection."""
    ray = _ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"Could not reach the Ray cluster at {address or 'RAY_ADDRESS/local'}: {exc}.",
                              "start one with: ray start --head, or check the address") from exc
    ray.data.DataContext.get_current().enable_progress_bars = False
    return ray


# -- the stage (runs on the workers) ------------------------------------------------------
class LoadSplitEmbed:
    """Files -> chunks with their vectors, one row per chunk (a file that cannot be read becomes one
    row with its error). One actor per worker builds the KB's splitter and embedder once; loading
    and splitting are light next to embedding, so they share its process instead of a pool of
    their own (one process to start per worker, not two)."""

    def __init__(self, embedding: Any, chunk_tokens: int, overlap: int, embed_batch: int) -> None:
        from lingxi.knowledge.embed import get_embedder
        from lingxi.knowledge.splitter import Splitter

        self.embedder, self.embed_batch = get_embedder(embedding), max(1, embed_batch)
        counter = getattr(self.embedder, "count_tokens", None)
        self.splitter = Splitter(chunk_tokens, overlap, **({"count_tokens": counter} if counter else {}))

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"source": [], "digest": [], "n": [], "chunk": [], "error": [], "vector": []}
        todo: list[Chunk] = []
        for source, path, digest in zip(batch["source"], batch["path"], batch["digest"], strict=True):
            chunks, error = self._split(str(path))
            todo += chunks
            for chunk in chunks or [None]:  # a file with no chunk still reports back
                out["source"].append(source)
                out["digest"].append(digest)
                out["n"].append(len(chunks))
                out["chunk"].append(chunk.model_dump_json() if chunk else "")
                out["error"].append(error)
        vectors = iter(self._embed(todo))
        out["vector"] = [json.dumps(next(vectors).tolist()) if c else "" for c in out["chunk"]]
        return out

    def _split(self, path: str) -> tuple[list[Chunk], str]:
        from lingxi.knowledge.encoding import LoadError
        from lingxi.knowledge.loaders import load_file

        try:
            return [c for doc in load_file(Path(path)) for c in self.splitter.split(doc)], ""
        except LoadError as exc:
            return [], str(exc)
        except OSError as exc:
            return [], f"Could not read '{path}': {exc.strerror or exc}."

    def _embed(self, chunks: list[Chunk]) -> list[np.ndarray]:
        from lingxi.knowledge.splitter import embed_text

        texts = [embed_text(c) for c in chunks]
        out: list[np.ndarray] = []
        for i in range(0, len(texts), self.embed_batch):
            out += list(np.asarray(self.embedder.embed(texts[i:i + self.embed_batch], kind="passage"), np.float32))
        return out


# -- the driver -------------------------------------------------------------------------
class _Files:
    """Chunks gathered per file until the file is whole, then written in atomic batches."""

    def __init__(self, kb: Any, report: IngestReport, known: dict[str, str], progress: Progress | None,
                 total: int, batch_chunks: int, batch_files: int) -> None:
        self.kb, self.report, self.known, self.progress, self.total = kb, report, known, progress, total
        self.batch_chunks, self.batch_files = batch_chunks, batch_files
        self.partial: dict[str, dict[str, tuple[Chunk, np.ndarray]]] = {}
        self.ready: dict[str, str] = {}
        self.chunks: list[Chunk] = []
        self.vectors: dict[str, np.ndarray] = {}
        self.done: set[str] = set()

    def take(self, row: dict[str, Any]) -> None:
        source, n = str(row["source"]), int(row["n"])
        if source in self.done:
            return  # a recomputed batch of a file already written
        if row["error"]:
            self.report.failed.append((source, str(row["error"])))
            return self._finish(source)
        got = self.partial.setdefault(source, {})
        if n:
            chunk = Chunk.model_validate_json(row["chunk"])
            chunk.metadata["file_hash"] = row["digest"]
            got[chunk.id] = (chunk, np.asarray(json.loads(row["vector"]), np.float32))  # one copy per id
        if len(got) >= n:
            self.ready[source] = str(row["digest"])
            for chunk, vector in got.values():
                self.chunks.append(chunk)
                self.vectors[chunk.id] = vector
            (self.report.changed if source in self.known else self.report.added).append(source)
            self.report.chunks += n
            self._finish(source)
            if len(self.chunks) >= self.batch_chunks or len(self.ready) >= self.batch_files:
                self.flush()

    def _finish(self, source: str) -> None:
        self.partial.pop(source, None)
        self.done.add(source)

    def flush(self) -> None:
        if not self.ready:
            return
        self.kb.store.replace_sources(self.ready, self.chunks, self.vectors)
        if self.chunks:
            from lingxi.knowledge.splitter import embed_text

            self.kb.languages.add([embed_text(c) for c in self.chunks], np.stack([self.vectors[c.id] for c in self.chunks]))
        self.ready, self.chunks, self.vectors = {}, [], {}
        if self.progress:
            self.progress("files", len(self.done), self.total)


def plan(store: Any, root: Path, include: Sequence[str] | None, exclude: Sequence[str] | None,
         report: IngestReport) -> tuple[list[dict[str, str]], list[str], dict[str, str]]:
    """What the cluster must do: the new and changed files, the sources that vanished, what is known."""
    known = store.sources()
    prefix = str(root) + os.sep
    ours = [s for s in known if s == str(root) or s.startswith(prefix)]
    files = [] if ours and not root.exists() else list(walk(root, include, exclude))
    todo, seen = [], set()
    for path in files:
        source = str(path.resolve())
        seen.add(source)
        try:
            digest = _digest(path)
        except OSError as exc:
            report.failed.append((source, f"Could not read '{path}': {exc.strerror or exc}."))
            continue
        if known.get(source) == digest:
            report.unchanged += 1
        else:
            todo.append({"source": source, "path": str(path), "digest": digest})
    return todo, [s for s in ours if s not in seen], known


def ingest_ray(
    kb: Any, root: str | Path, *, address: str | None = None, include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None, progress: Progress | None = None, workers: int | None = None,
    files_per_task: int = 8, embed_batch: int = 64, batch_chunks: int = 4000, batch_files: int = 256,
) -> IngestReport:  # fmt: skip
    """Ingest `root` into `kb` on the Ray cluster at `address` (see the module's doc)."""
    started = time.perf_counter()
    root = Path(root).expanduser().resolve()
    report = IngestReport()
    with writer_lock(kb.path, f"lingxi kb ingest --engine ray {root}"):
        _run(kb, root, report, address, include, exclude, progress, workers, files_per_task, embed_batch,
             batch_chunks, batch_files)
    report.seconds = time.perf_counter() - started
    return report


def _run(kb: Any, root: Path, report: IngestReport, address: str | None, include: Sequence[str] | None,
         exclude: Sequence[str] | None, progress: Progress | None, workers: int | None, files_per_task: int,
         embed_batch: int, batch_chunks: int, batch_files: int) -> None:
    todo, gone, known = plan(kb.store, root, include, exclude, report)
    if todo:
        ray = connect(address)
        workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        files = _Files(kb, report, known, progress, len(todo), batch_chunks, batch_files)
        for row in _rows(ray, kb, todo, workers, files_per_task, embed_batch):
            files.take(row)
        files.flush()
        missing = [t["source"] for t in todo if t["source"] not in files.done]
        if missing:  # a file whose rows never all came back: not written, picked up by the next run
            report.failed += [(s, "Its chunks did not all come back from the cluster; run the ingest again.")
                              for s in missing]
    kb.store.delete_sources(gone)
    report.deleted = gone
    if report.added or report.changed or report.deleted:
        kb.store.optimize()
    report.embedding = {"embedded": report.chunks, "engine": "ray", "workers": workers or 0}


def _rows(ray: Any, kb: Any, todo: list[dict[str, str]], workers: int, files_per_task: int,
          embed_batch: int) -> Iterator[dict[str, Any]]:
    cfg = kb.config
    ds = ray.data.from_items(todo, override_num_blocks=max(1, min(len(todo), workers * 4)))
    # an actor pool (Ray Data restarts a dead actor and retries its batch: max_restarts and
    # max_task_retries default to -1 there), one CPU per worker
    ds = ds.map_batches(LoadSplitEmbed, fn_constructor_args=(_shippable(kb), cfg["chunk_tokens"], cfg["overlap"],
                                                             embed_batch),
                        batch_size=files_per_task, compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1)
    for batch in ds.iter_batches(batch_size=256, batch_format="numpy"):
        for i in range(len(batch["source"])):
            yield {k: batch[k][i] for k in ("source", "digest", "n", "chunk", "error", "vector")}


def _shippable(kb: Any) -> Any:
    """What the workers build the KB's embedder from: its spec when the registry (or an
    openai: URL) resolves it there, else the embedder object itself (pickled)."""
    spec = kb.config.get("embedding")
    if isinstance(spec, str):
        from lingxi.registry import default_registry

        if spec.startswith("openai:") or spec in default_registry().names("embedding"):
            return spec
    return kb.embedder


def _digest(path: Path) -> str:
    """The file hash the store records (the local path's: SHA-256 of the content, 32 hex digits)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:32]


def writer_lock(kb_path: Path, doing: str) -> Any:
    """One writer per KB: the local ingest's lock (`lingxi.knowledge.lock`, a flock on write.lock in the
    KB folder), so a Ray ingest never interleaves with another ingest of the same KB."""
    from lingxi.knowledge.lock import writer_lock as lock

    return lock(Path(kb_path), Path(kb_path).name, doing, 0)
