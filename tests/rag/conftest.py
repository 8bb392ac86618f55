"""A tiny real knowledge base (real multilingual-e5 vectors), built once per test session."""

from __future__ import annotations

import pytest

DOCS = {
    "serve.md": "# Serving\n\nThe command lingxi serve starts an OpenAI-compatible server on port 8700.\n\n"
    "# Offline use\n\nlingxi runs on a laptop with no API key and no network. "
    "The default chat model is SmolLM2-135M, shipped inside a PyPI package.",
    "verify.md": "# 引用验证\n\n灵犀会检查回答中的每一句话是否得到所引用段落的支持，不被支持的句子会被删除。\n\n"
    "# 知识库\n\n灵犀的知识库把文档切成小块，同时建立关键词索引和向量索引。",
}


@pytest.fixture(scope="session")
def e5():
    from lingxi.knowledge.embed import E5Embedder

    return E5Embedder()


@pytest.fixture(scope="session")
def kb_home(tmp_path_factory):
    return tmp_path_factory.mktemp("rag-home")


@pytest.fixture(scope="session")
def kb(kb_home, e5):
    from lingxi.config import load_settings
    from lingxi.knowledge import KnowledgeBase

    docs = kb_home / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    kb = KnowledgeBase.create("tiny", embedding=e5, settings=load_settings(home=str(kb_home)))
    kb.ingest(docs)
    return kb


@pytest.fixture(scope="session")
def empty_kb(kb_home, e5):
    from lingxi.config import load_settings
    from lingxi.knowledge import KnowledgeBase

    return KnowledgeBase.create("empty", embedding=e5, settings=load_settings(home=str(kb_home)))
