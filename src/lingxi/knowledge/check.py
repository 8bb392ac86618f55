"""`lingxi kb check NAME [--repair]`: find (and fix) what should never be in a knowledge base.

    >>> report = check(kb, repair=True)      # under the KB's writer lock

It looks for:

* **duplicate ids**: one chunk id stored twice (two writers racing, before the lock);
  repair keeps one row per id, an embedded one when there is one;
* **orphans**: chunks of sources that no longer exist on disk (removed files), and
  summary nodes whose chunks are gone (a summary's "vector without its chunks": in
  this store a vector lives in its chunk's row, so a lone vector cannot exist);
  repair deletes them;
* **mixed versions**: one source with chunks of two file hashes (an old writer
  interleaved with a new one); repair deletes the source's chunks, and the next
  ingest reads the file afresh;
* **missing vectors**: chunks marked embedded whose vector is zero or not finite;
  repair marks them pending, and the embedding step fills them in.

Chunks still waiting for their vector are counted (``pending``); they are not a fault.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lingxi.errors import StoreError


@dataclass
class CheckReport:
    chunks: int = 0
    sources: int = 0
    duplicate_ids: dict[str, int] = field(default_factory=dict)
    orphan_sources: list[str] = field(default_factory=list)
    orphan_chunks: int = 0
    orphan_summaries: list[str] = field(default_factory=list)
    mixed_sources: list[str] = field(default_factory=list)
    missing_vectors: list[str] = field(default_factory=list)
    pending: int = 0
    repaired: dict[str, int] = field(default_factory=dict)

    @property
    def problems(self) -> int:
        return (len(self.duplicate_ids) + len(self.orphan_sources) + len(self.orphan_summaries)
                + len(self.mixed_sources) + len(self.missing_vectors))  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "problems": self.problems, "ok": self.problems == 0}


def _needs(store: Any) -> None:
    if not all(hasattr(store, m) for m in ("scan", "duplicate_ids", "dedupe", "delete_ids", "mark_pending")):
        raise StoreError("This knowledge base's store cannot be checked by lingxi.",
                         "kb check works with the LanceDB store (PostgreSQL keeps ids unique by itself)")  # fmt: skip


def find(store: Any) -> CheckReport:
    """Scan the store once and list what is wrong; changes nothing."""
    _needs(store)
    report = CheckReport(duplicate_ids=store.duplicate_ids())
    hashes: dict[str, set[str]] = {}
    per_source: dict[str, int] = {}
    leaves: set[str] = set()
    summaries: dict[str, tuple[str, list[str]]] = {}
    for batch in store.scan(["id", "source", "file_hash", "kind", "metadata", "embedded", "vector"]):
        rows = batch.select(["id", "source", "file_hash", "kind", "metadata", "embedded"]).to_pylist()
        vectors = batch.column("vector")
        norms = _norms(vectors)
        for r, norm in zip(rows, norms, strict=True):
            report.chunks += 1
            per_source[r["source"]] = per_source.get(r["source"], 0) + 1
            if r["kind"] == "summary":
                children = json.loads(r["metadata"] or "{}").get("children", [])
                summaries[r["id"]] = (r["source"], list(children))
            else:
                leaves.add(r["id"])
                hashes.setdefault(r["source"], set()).add(r["file_hash"] or "")
            if not r["embedded"]:
                report.pending += 1
            elif not np.isfinite(norm) or norm == 0.0:
                report.missing_vectors.append(r["id"])
    report.sources = len(hashes)
    for source, seen in sorted(hashes.items()):
        if os.path.isabs(source) and not os.path.lexists(source):
            report.orphan_sources.append(source)
            report.orphan_chunks += per_source.get(source, 0)
        elif len(seen) > 1:
            report.mixed_sources.append(source)
    known = set(leaves) | set(summaries)
    report.orphan_summaries = sorted(i for i, (source, children) in summaries.items()
                                     if source not in hashes or any(c not in known for c in children))  # fmt: skip
    return report


def _norms(vectors: Any) -> np.ndarray:
    """L2 norm of each row of a pyarrow FixedSizeList<float32> column, without Python lists."""
    import pyarrow as pa

    if isinstance(vectors, pa.ChunkedArray):
        vectors = vectors.combine_chunks()
    if len(vectors) == 0:
        return np.zeros(0, np.float32)
    flat = vectors.flatten().to_numpy(zero_copy_only=False).reshape(len(vectors), -1)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.linalg.norm(flat.astype(np.float64), axis=1)


def repair(store: Any, report: CheckReport) -> CheckReport:
    """Fix what `find` listed (call it under the KB's writer lock)."""
    _needs(store)
    done: dict[str, int] = {}
    if report.duplicate_ids:
        done["duplicate_rows_removed"] = store.dedupe(sorted(report.duplicate_ids))
    gone = [*report.orphan_sources, *report.mixed_sources]
    if gone:
        done["orphan_chunks_removed"] = store.delete_sources(gone)
    if report.orphan_summaries:
        done["orphan_summaries_removed"] = store.delete_ids(report.orphan_summaries)
    if report.missing_vectors:
        done["vectors_queued"] = store.mark_pending(report.missing_vectors)
    report.repaired = done
    return report
