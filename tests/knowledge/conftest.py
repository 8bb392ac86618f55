from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _lingxi_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LINGXI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def e5():
    from lingxi.knowledge.embed import E5Embedder

    return E5Embedder()


class BagEmbedder:
    """A test embedding model: hashed bag of keyword terms (instant; texts sharing terms are close)."""

    name, dim, model_id = "bag", 64, "tests/bag-of-terms@v1"

    def embed(self, texts, kind: str = "passage"):
        import hashlib

        import numpy as np

        from lingxi.knowledge.text import terms

        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for term in terms(text) or [text]:
                out[row, int(hashlib.md5(term.encode()).hexdigest()[:8], 16) % self.dim] += 1.0
            out[row] /= max(float(np.linalg.norm(out[row])), 1e-6)
        return out


@pytest.fixture
def bag():
    return BagEmbedder()
