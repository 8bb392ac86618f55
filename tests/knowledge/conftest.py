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
