"""Incremental ingest: bring a store in line with a folder, file by file.

Files are compared by content hash with what the store already holds: unchanged
files are skipped, new and changed files are loaded, split and written (their
unchanged chunks keep their vectors), files that vanished are deleted. Writes go
in batches of whole files, each batch one atomic commit, so an interruption
leaves every file as it was before or after. A file that cannot be read is
reported (one line) and the rest goes on; if it was indexed before, its old
chunks stay. Only regular files are read, each at most `ingest.max_file_mb`
(see `lingxi.knowledge.safe_io`). Ctrl-C writes every finished file and raises
`IngestInterrupted`; the same ingest run again does only the unfinished files.
A full disk stops the ingest with one sentence; what was committed stays.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lingxi.errors import StoreError
from lingxi.knowledge.encoding import LoadError
from lingxi.knowledge.loaders import load_file, walk
from lingxi.knowledge.safe_io import Limits, read_file
from lingxi.knowledge.splitter import Splitter
from lingxi.knowledge.store import Store
from lingxi.types import Chunk

Progress = Callable[[str, int, int], None]  # (stage, done, total)
OnFile = Callable[[str, str, str], None]  # (source, "added" | "changed" | "unchanged" | "failed", detail)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)  # files that were not UTF-8: the encoding chosen
    chunks: int = 0
    seconds: float = 0.0
    embedding: dict[str, Any] | None = None
    interrupted: bool = False
    unfinished: int = 0  # files left for the next run (after an interruption)

    @property
    def files(self) -> int:
        return len(self.added) + len(self.changed) + self.unchanged + len(self.failed)

    @property
    def chunks_per_s(self) -> float | None:
        """Chunks per second, or None when the work took too little time for a rate to mean anything."""
        return self.chunks / self.seconds if self.seconds >= 0.2 and self.chunks else None

    def as_dict(self) -> dict[str, Any]:
        rate = self.chunks_per_s
        return {**asdict(self), "chunks_per_s": None if rate is None else round(rate, 1)}


class IngestInterrupted(KeyboardInterrupt):
    """Ctrl-C during an ingest: every finished file was written; `report` says what was kept."""

    def __init__(self, report: IngestReport) -> None:
        super().__init__("interrupted")
        self.report = report


def disk_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return getattr(exc, "errno", None) == errno.ENOSPC or "no space left" in text or "os error 28" in text


def _full(kept: int, exc: BaseException) -> StoreError:
    return StoreError(
        f"The disk holding the knowledge base is full ({exc.__class__.__name__}: no space left on device); "
        f"{kept} file{'s' if kept != 1 else ''} written before it are kept, and no file is half-written.",
        "free some space and run the same command again: it goes on with the files not yet written",
    )


class _Batch:
    def __init__(self, store: Store, max_chunks: int, max_files: int) -> None:
        self.store, self.max_chunks, self.max_files = store, max_chunks, max_files
        self.hashes: dict[str, str] = {}
        self.chunks: list[Chunk] = []
        self.pending: list[tuple[str, bool, int]] = []  # (source, was known, chunks) not yet committed
        self.written: list[tuple[str, bool, int]] = []

    def add(self, source: str, digest: str, chunks: list[Chunk], known: bool) -> None:
        self.hashes[source] = digest
        self.chunks.extend(chunks)
        self.pending.append((source, known, len(chunks)))
        if len(self.chunks) >= self.max_chunks or len(self.hashes) >= self.max_files:
            self.flush()

    def flush(self) -> None:
        """One atomic commit of the whole files collected so far; Ctrl-C waits for it to end."""
        if not self.hashes:
            return
        try:
            with _sigint_deferred():
                self.store.replace_sources(self.hashes, self.chunks)
                self.written.extend(self.pending)
                self.hashes, self.chunks, self.pending = {}, [], []
        except Exception as exc:
            if disk_full(exc):
                raise _full(len(self.written), exc) from exc
            raise


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C that arrives during a commit until the commit is done (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[object] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda *a: caught.append(a))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _resolved(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, on Python < 3.13
        return str(Path(os.path.abspath(path)))


def _load(
    path: Path, source: str, known: Mapping[str, str], splitter: Splitter, limits: Limits
) -> tuple[str, list[Chunk] | None, str]:
    """(digest, chunks or None when unchanged, encoding) of one file; LoadError for any failure."""
    data = read_file(path, limits)
    digest = hashlib.sha256(data).hexdigest()[:32]
    if known.get(source) == digest:
        return digest, None, ""
    docs = load_file(path, data, limits)
    del data
    chunks = [c for doc in docs for c in splitter.split(doc)]
    encoding = next((str(d.metadata["encoding"]) for d in docs if d.metadata.get("encoding")), "")
    for c in chunks:
        c.metadata["file_hash"] = digest
    return digest, chunks, encoding


def ingest_path(
    store: Store,
    splitter: Splitter,
    root: str | Path,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    progress: Progress | None = None,
    batch_chunks: int = 4000,
    batch_files: int = 256,
    limits: Limits | None = None,
    on_file: OnFile | None = None,
) -> IngestReport:
    """Bring `store` in line with the files under `root` (see the module docstring). Raises
    `IngestInterrupted` on Ctrl-C after writing every finished file."""
    started = time.perf_counter()
    root = Path(_resolved(Path(root).expanduser()))
    limits = limits or Limits.from_settings()
    report = IngestReport()
    known = store.sources()
    prefix = str(root) + os.sep
    ours = [s for s in known if s == str(root) or s.startswith(prefix)]
    # a folder or file that was ingested before and is gone now: everything from it is deleted
    gone_root = bool(ours) and not os.path.lexists(root)
    files = [] if gone_root else list(walk(root, include, exclude, on_error=lambda p, m: report.failed.append((p, m))))
    seen: set[str] = set()
    batch = _Batch(store, batch_chunks, batch_files)
    if progress:
        progress("files", 0, len(files))
    try:
        for n, path in enumerate(files, start=1):
            source = _resolved(path)
            seen.add(source)  # a file that fails now but was indexed before keeps its old chunks
            try:
                digest, chunks, encoding = _load(path, source, known, splitter, limits)
            except LoadError as exc:
                report.failed.append((source, str(exc)))
                outcome = ("failed", str(exc))
            else:
                if chunks is None:
                    report.unchanged += 1
                    outcome = ("unchanged", "")
                else:
                    if encoding:
                        report.encodings[source] = encoding
                    batch.add(source, digest, chunks, source in known)
                    outcome = ("changed" if source in known else "added", f"{len(chunks)} chunks")
            if on_file:
                on_file(source, *outcome)
            if progress:
                progress("files", n, len(files))
        batch.flush()
    except KeyboardInterrupt:
        batch.flush()  # every file read to the end is kept; the one being read is redone next time
        _tally(report, batch.written)
        report.unfinished = len(files) - report.files
        report.interrupted = True
        report.seconds = time.perf_counter() - started
        raise IngestInterrupted(report) from None
    except StoreError:
        raise
    _tally(report, batch.written)
    gone = [s for s in ours if s not in seen]
    store.delete_sources(gone)
    report.deleted = gone
    report.seconds = time.perf_counter() - started
    return report


def _tally(report: IngestReport, written: list[tuple[str, bool, int]]) -> None:
    for source, was_known, n in written:
        (report.changed if was_known else report.added).append(source)
        report.chunks += n
