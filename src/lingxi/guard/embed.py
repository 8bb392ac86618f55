"""The e5 vectors the guard's classifier heads read: one shared embedder, an in-memory LRU for the
texts of recent calls (moderation and injection check the same text once), and an on-disk cache
for training and benchmarks (`lingxi guard train` embeds tens of thousands of texts once)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
MAX_CHARS = 1000  # what a head reads of a text (e5 reads at most 512 tokens anyway)
_LRU_SIZE = 2048

_lock = threading.Lock()
_embedder: Any = None
_recent: OrderedDict[str, np.ndarray] = OrderedDict()


def embedder() -> Any:
    """The process-wide e5 embedder (loaded on its first use)."""
    global _embedder
    with _lock:
        if _embedder is None:
            from lingxi.knowledge.embed import E5Embedder

            _embedder = E5Embedder()
        return _embedder


def key(text: str) -> str:
    return hashlib.sha1(text[:MAX_CHARS].encode("utf-8")).hexdigest()


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors for `texts` (e5 "query:" side, as e5 asks for classification), rows in order."""
    keys = [key(t) for t in texts]
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    missing = []
    with _lock:
        for i, k in enumerate(keys):
            v = _recent.get(k)
            if v is None:
                missing.append(i)
            else:
                _recent.move_to_end(k)
                out[i] = v
    if missing:
        vecs = embedder().embed([texts[i][:MAX_CHARS] for i in missing], "query")
        with _lock:
            for i, v in zip(missing, vecs, strict=True):
                out[i] = v
                _recent[keys[i]] = v
            while len(_recent) > _LRU_SIZE:
                _recent.popitem(last=False)
    return out


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "lingxi" / "guard-e5.sqlite"


def embed_cached(texts: Sequence[str], path: Path | None = None, progress: Any = None) -> np.ndarray:
    """Like `embed`, through an on-disk cache keyed by text hash (for training and benchmarks)."""
    path = path or cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS vec (k TEXT PRIMARY KEY, v BLOB NOT NULL)")
        keys = [key(t) for t in texts]
        have: dict[str, np.ndarray] = {}
        uniq = list(dict.fromkeys(keys))
        for i in range(0, len(uniq), 500):
            part = uniq[i : i + 500]
            rows = conn.execute(f"SELECT k, v FROM vec WHERE k IN ({','.join('?' * len(part))})", part)
            have.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        todo = list({k: t for k, t in zip(keys, texts, strict=True) if k not in have}.items())
        for i in range(0, len(todo), 64):
            batch = todo[i : i + 64]
            vecs = embedder().embed([t[:MAX_CHARS] for _, t in batch], "query")
            conn.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)",
                             [(k, v.astype(np.float32).tobytes()) for (k, _), v in zip(batch, vecs, strict=True)])
            conn.commit()
            have.update((k, v) for (k, _), v in zip(batch, vecs, strict=True))
            if progress:
                progress(len(batch))
        return np.stack([have[k] for k in keys]) if keys else np.zeros((0, DIM), dtype=np.float32)
    finally:
        conn.close()
