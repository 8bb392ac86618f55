"""The trained heads the moderation and injection checks read (``guard/data/heads.npz``,
written by `lingxi guard train`, described with its data hashes and metrics in
``guard/data/heads.json``).

* ``char``: a linear model on hashed character 1-3-grams (tf-idf), trained on all of COLD
  train: offensive (hate/harassment) or not; microseconds per text, so it always runs.
* ``e5``: one-vs-rest linear heads on multilingual-e5-small vectors for the five moderation
  categories and for prompt injection; they read meaning, not characters.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.errors import ConfigError

N_FEATURES = 2**18
NGRAMS = (1, 3)
_lock = threading.Lock()
_loaded: dict[str, Heads] = {}


def head_path() -> Path:
    return Path(str(resources.files("lingxi.guard").joinpath("data/heads.npz")))


def hasher() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char", ngram_range=NGRAMS, n_features=N_FEATURES, alternate_sign=False,
                             norm=None, lowercase=True)


def char_features(texts: list[str], idf: np.ndarray) -> Any:
    """Sublinear tf x idf, L2-normalised rows (scipy CSR)."""
    x = hasher().transform(texts).tocsr().astype(np.float32)
    x.data = 1.0 + np.log(x.data)
    x = x.multiply(idf.astype(np.float32)).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return x.multiply(1.0 / norms[:, None]).tocsr()


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass
class Heads:
    char_coef: np.ndarray
    char_bias: float
    char_idf: np.ndarray
    e5_labels: list[str]
    e5_w: np.ndarray  # (labels, 384)
    e5_b: np.ndarray
    e5_th: np.ndarray  # per label: the probability calibrated to be the flag line (reported as 0.5)

    def char(self, texts: list[str]) -> np.ndarray:
        """P(offensive) per text from the character model."""
        x = char_features(texts, self.char_idf)
        return sigmoid(x @ self.char_coef.astype(np.float32) + self.char_bias)

    def e5(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated scores per label for rows of e5 vectors: 0.5 is the label's flag line
        (its cross-validated threshold), 0 and 1 stay where they are."""
        p = sigmoid(vectors @ self.e5_w.T + self.e5_b)
        th = self.e5_th[None, :]
        s = np.where(p < th, 0.5 * p / th, 0.5 + 0.5 * (p - th) / np.maximum(1e-6, 1 - th))
        return {name: s[:, i] for i, name in enumerate(self.e5_labels)}

    def save(self, path: Path) -> None:
        np.savez_compressed(path, char_coef=self.char_coef.astype(np.float16), char_bias=np.float32(self.char_bias),
                            char_idf=self.char_idf.astype(np.float16), e5_labels=np.array(self.e5_labels),
                            e5_w=self.e5_w.astype(np.float32), e5_b=self.e5_b.astype(np.float32),
                            e5_th=self.e5_th.astype(np.float32))


def load(path: Path | None = None) -> Heads:
    """The heads (cached per path)."""
    path = path or head_path()
    with _lock:
        if str(path) in _loaded:
            return _loaded[str(path)]
        if not path.is_file():
            raise ConfigError(f"The guard's trained heads are missing ({path}).",
                              "train them with: lingxi guard train --data ../shared/data")
        z = np.load(path, allow_pickle=False)
        heads = Heads(z["char_coef"].astype(np.float32), float(z["char_bias"]), z["char_idf"].astype(np.float32),
                      [str(s) for s in z["e5_labels"]], z["e5_w"], z["e5_b"],
                      z["e5_th"] if "e5_th" in z else np.full(len(z["e5_b"]), 0.5, dtype=np.float32))
        _loaded[str(path)] = heads
        return heads


def record(path: Path | None = None) -> dict[str, Any]:
    """The training record beside the heads: data hashes, sizes, metrics."""
    p = (path or head_path()).with_suffix(".json")
    return json.loads(p.read_text("utf-8")) if p.is_file() else {}
