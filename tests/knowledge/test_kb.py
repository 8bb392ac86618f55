from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lingxi.errors import StoreError
from lingxi.knowledge import KnowledgeBase

DOCS = {
    "guide.md": "# 安装指南\n\n本软件支持离线安装，无需连接网络。\n\n## 升级\n\n运行升级命令即可获得新版本。",
    "news/beijing.txt": "北京是中华人民共和国的首都，是全国的政治中心和文化中心。",
    "en/wall.md": "# The Great Wall\n\nThe Great Wall of China is a series of fortifications built across northern China.",
    "en/coffee.txt": "Coffee is a drink brewed from roasted coffee beans, popular in the morning.",
}


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "docs"
    write(root, DOCS)
    (root / "gbk.txt").write_bytes("上海是中国最大的经济中心城市，港口吞吐量世界第一。".encode("gbk"))
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    return root


@pytest.fixture
def kb(e5):
    return KnowledgeBase.create("t", embedding=e5)


def test_ingest_search_and_incremental(kb, folder, e5):
    r = kb.ingest(folder)
    assert len(r.added) == 5 and r.chunks >= 5
    assert [Path(s).name for s, _ in r.failed] == ["broken.pdf"] and "broken.pdf" in r.failed[0][1]
    assert r.embedding["embedded"] == r.chunks and kb.info()["pending"] == 0

    hits = kb.search("上海的港口", k=3)
    assert Path(hits[0].chunk.source).name == "gbk.txt"  # GBK file decoded and found
    assert {"keyword", "vector"} <= hits[0].scores.keys()
    cross = kb.search("咖啡是什么饮料？", k=2)  # Chinese question, English passage: no shared terms
    assert Path(cross[0].chunk.source).name == "coffee.txt" and cross[0].scores["keyword_weight"] == 0
    wall = kb.search("What is the Great Wall?", k=1)[0]
    assert Path(wall.chunk.source).name == "wall.md" and wall.chunk.headings == ["The Great Wall"]
    assert kb.search("升级", k=1, filters={"source": "*guide.md"})[0].chunk.headings == ["安装指南", "升级"]

    # change one file, delete one, add one: only those are touched
    (folder / "en/coffee.txt").write_text("Tea is a drink made by steeping cured tea leaves in hot water.")
    (folder / "news/beijing.txt").unlink()
    write(folder, {"new.md": "新文件讲的是杭州西湖。"})
    r2 = kb.ingest(folder)
    assert [Path(s).name for s in r2.changed] == ["coffee.txt"] and [Path(s).name for s in r2.added] == ["new.md"]
    assert [Path(s).name for s in r2.deleted] == ["beijing.txt"] and r2.unchanged == 3
    assert r2.embedding["embedded"] == 2  # only the new and changed chunks
    assert kb.search("北京 首都", k=5, mode="keyword") == [] or all(
        "beijing" not in h.chunk.source for h in kb.search("北京 首都", k=5)
    )
    assert "Tea" in kb.search("steeping leaves", k=1)[0].chunk.text
    assert KnowledgeBase.open("t", e5).info()["sources"] == 5


def test_keyword_searchable_before_embedding(kb, folder):
    kb.ingest(folder, embed="later")
    assert kb.info()["embedded"] == 0
    hits = kb.search("离线安装", k=2)
    assert Path(hits[0].chunk.source).name == "guide.md" and "vector" not in hits[0].scores
    first = kb.embed_pending(batch=2, limit=2)
    assert first["embedded"] == 2 and kb.info()["pending"] > 0  # resumable in steps
    kb.embed_pending()
    assert kb.info()["pending"] == 0
    assert kb.search("离线安装", k=1, mode="vector")[0].scores["vector"] > 0.5


def test_embedding_model_mismatch_is_refused(kb):
    class Other:
        name, model_id, dim = "other", "acme/other-embedder", 384

        def embed(self, texts, kind="passage"):
            raise AssertionError("never called")

    with pytest.raises(StoreError, match="was built with the embedding model"):
        KnowledgeBase.open("t", Other())
    with pytest.raises(StoreError, match="already exists"):
        KnowledgeBase.create("t", embedding=Other())
    with pytest.raises(StoreError, match="No knowledge base named 'nope'"):
        KnowledgeBase.open("nope")


def test_interrupted_ingest_leaves_whole_files(tmp_path, e5):
    root = tmp_path / "many"
    write(root, {f"f{i:03d}.txt": f"文件{i}的内容。" + "这是填充的句子。" * 40 for i in range(60)})
    KnowledgeBase.create("crash", embedding=e5, chunk_tokens=32, overlap=0)
    script = textwrap.dedent(f"""
        import time
        from lingxi.knowledge import KnowledgeBase
        from lingxi.knowledge.ingest import ingest_path
        kb = KnowledgeBase.open("crash")
        store, write = kb.store, kb.store.replace_sources
        def slow(*args, **kwargs):  # a kill must land mid-ingest, even on a fast machine
            write(*args, **kwargs)
            time.sleep(0.02)
        store.replace_sources = slow
        ingest_path(store, kb.splitter(), {str(root)!r}, batch_files=1)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
    kb = KnowledgeBase.open("crash", e5)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if (kb.path / "lance").exists() and len(kb.store.sources()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kb = KnowledgeBase.open("crash", e5)
    splitter, done = kb.splitter(), kb.sources()
    assert 0 < len(done) < 60
    from lingxi.knowledge.loaders import load_file

    for source in done:  # every file present is complete, never half-written
        expected = len([c for d in load_file(Path(source)) for c in splitter.split(d)])
        assert kb.store.count({"source": source}) == expected
    r = kb.ingest(root, embed="later")
    assert r.unchanged == len(done) and len(r.added) == 60 - len(done) and len(kb.sources()) == 60


def test_rerank_reorders_with_any_scorer(kb, folder):
    kb.ingest(folder, embed="later")

    class Longest:
        def score(self, query, texts):
            return [float(len(t)) for t in texts]

    hits = kb.search("中国", k=3, mode="keyword", rerank=Longest())
    assert [h.scores["rerank"] for h in hits] == sorted((h.scores["rerank"] for h in hits), reverse=True)
    assert "keyword" in hits[0].scores


def test_readers_keep_working_during_ingest_and_vanished_folder_is_dropped(kb, folder):
    import threading

    kb.ingest(folder, embed="later")
    write(folder, {f"more/{i}.txt": f"第{i}个新增文件，讲的是离线安装。" for i in range(40)})
    errors, seen = [], []

    def reader():
        while not done.is_set():
            try:
                seen.append(len(kb.search("离线安装", k=50, mode="keyword")))
            except Exception as exc:  # pragma: no cover - the assertion below reports it
                errors.append(exc)

    done = threading.Event()
    t = threading.Thread(target=reader)
    t.start()
    from lingxi.knowledge.ingest import ingest_path

    ingest_path(kb.store, kb.splitter(), folder, batch_files=4)
    done.set()
    t.join()
    assert not errors and seen and min(seen) >= 1 and kb.search("离线安装", k=50, mode="keyword")
    import shutil

    shutil.rmtree(folder / "more")
    r = kb.ingest(folder / "more", embed="later")
    assert len(r.deleted) == 40 and not any("/more/" in s for s in kb.sources())
