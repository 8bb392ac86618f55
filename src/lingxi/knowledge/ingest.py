"""Incremental ingest: bring a store in line with a folder, file by file.

Files are compared by content hash with what the store already holds: unchanged
files are skipped, new and changed files are loaded, split and written (their
unchanged chunks keep their vectors), files that vanished are deleted. Writes go
in batches of whole files, each batch one atomic commit, so an interruption
leaves every file as it was before or after. A file that cannot be read is
reported (one line) and the rest goes on; if it was indexed before, its old
chunks stay.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lingxi.knowledge.encoding import LoadError
from lingxi.knowledge.loaders import load_file, walk
from lingxi.knowledge.splitter import Splitter
from lingxi.knowledge.store import Store
from lingxi.types import Chunk

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    embedding: dict[str, Any] | None = None

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "chunks_per_s": round(self.chunks_per_s, 1)}


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:32]


class _Batch:
    def __init__(self, store: Store, max_chunks: int, max_files: int) -> None:
        self.store, self.max_chunks, self.max_files = store, max_chunks, max_files
        self.hashes: dict[str, str] = {}
        self.chunks: list[Chunk] = []

    def add(self, source: str, digest: str, chunks: list[Chunk]) -> None:
        self.hashes[source] = digest
        self.chunks.extend(chunks)
        if len(self.chunks) >= self.max_chunks or len(self.hashes) >= self.max_files:
            self.flush()

    def flush(self) -> None:
        if self.hashes:
            self.store.replace_sources(self.hashes, self.chunks)
        self.hashes, self.chunks = {}, []


def ingest_path(
    store: Store,
    splitter: Splitter,
    root: str | Path,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    progress: Progress | None = None,
    batch_chunks: int = 4000,
    batch_files: int = 256,
) -> IngestReport:
    started = time.perf_counter()
    root = Path(root).expanduser().resolve()
    report = IngestReport()
    known = store.sources()
    prefix = str(root) + os.sep
    ours = [s for s in known if s == str(root) or s.startswith(prefix)]
    # a folder or file that was ingested before and is gone now: everything from it is deleted
    files = [] if ours and not root.exists() else list(walk(root, include, exclude))
    seen: set[str] = set()
    batch = _Batch(store, batch_chunks, batch_files)
    for n, path in enumerate(files, start=1):
        source = str(path.resolve())
        seen.add(source)
        if progress:
            progress("files", n, len(files))
        try:
            digest = file_hash(path)
            if known.get(source) == digest:
                report.unchanged += 1
                continue
            chunks = [c for doc in load_file(path) for c in splitter.split(doc)]
        except LoadError as exc:
            report.failed.append((source, str(exc)))
            continue
        except OSError as exc:
            report.failed.append((source, f"Could not read '{path}': {exc.strerror or exc}."))
            continue
        for c in chunks:
            c.metadata["file_hash"] = digest
        batch.add(source, digest, chunks)
        (report.changed if source in known else report.added).append(source)
        report.chunks += len(chunks)
    batch.flush()
    gone = [s for s in ours if s not in seen]
    store.delete_sources(gone)
    report.deleted = gone
    report.seconds = time.perf_counter() - started
    return report
