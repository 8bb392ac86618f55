"""The tree summary index (chunk -> section -> document) with the scripted fake model."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lingxi.knowledge.kb import KnowledgeBase
from lingxi.models.scripted import ScriptedChat

BOOK = "# 安装\n\n本软件支持离线安装，无需网络。\n\n# 升级\n\n运行升级命令即可获得新版本。\n\n# 卸载\n\n删除安装目录即可。"


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "book.md").write_text(BOOK, encoding="utf-8")
    (docs / "note.txt").write_text("Coffee is brewed from roasted beans.", encoding="utf-8")
    return docs


def test_summary_tree_is_stored_as_searchable_nodes(tmp_path, bag):
    kb = KnowledgeBase.create("books", embedding=bag, chunk_tokens=16, overlap=0)
    docs = _docs(tmp_path)
    kb.ingest(docs)
    chunks = kb.info()["chunks"]
    model = ScriptedChat(default="摘要：离线安装、升级与卸载的步骤。")
    report = kb.summarize(model, max_chars=20)  # one section per prompt: the full tree
    assert report["documents"] == 2 and report["sections"] == 3 and report["model_calls"] == 5
    assert "离线安装" in model.calls[0]["messages"][-1].content  # the first section's text went to the model
    summaries = {c.id: c for c in kb.store.iter_chunks() if c.metadata["kind"] == "summary"}
    assert len(summaries) == 5 and kb.info()["chunks"] == chunks + 5 and kb.info()["pending"] == 0
    doc = summaries[f"{docs / 'book.md'}#summary-document-0"]
    assert doc.metadata["level"] == 2 and len(doc.metadata["children"]) == 3
    for sid in doc.metadata["children"]:  # sections point at their chunks
        section = summaries[sid]
        assert section.metadata["level"] == 1 and section.headings
        assert all(kb.store.count({"id": cid}) == 1 and "summary" not in cid for cid in section.metadata["children"])
    note = summaries[f"{docs / 'note.txt'}#summary-document-0"]  # one section: straight from its chunks
    assert len(note.metadata["children"]) == 1 and kb.store.count({"id": note.metadata["children"][0]}) == 1
    hits = kb.search("卸载步骤", k=3, filters={"kind": "summary"})
    assert hits and all(h.chunk.metadata["kind"] == "summary" for h in hits)
    assert kb.summarize(model, max_chars=20)["documents"] == 2 and kb.info()["chunks"] == chunks + 5  # a re-run replaces them
    (docs / "book.md").write_text(BOOK + "\n\n# 附录\n\n更多内容。", encoding="utf-8")
    kb.ingest(docs)  # the changed file's stale summaries go with its old chunks
    assert kb.store.count({"kind": "summary", "source": str(docs / "book.md")}) == 0
    assert kb.store.count({"kind": "summary", "source": str(docs / "note.txt")}) == 1


def test_short_sections_share_one_model_call(tmp_path, bag):
    """The newcomer issue (#19.3): `kb summarize` made one call per heading (17 chunks took 5.5 min on
    smollm2). Consecutive short sections now go to the model together: one call for a small book."""
    kb = KnowledgeBase.create("books", embedding=bag, chunk_tokens=16, overlap=0)
    docs = _docs(tmp_path)
    kb.ingest(docs)
    model = ScriptedChat(default="摘要。")
    report = kb.summarize(model)
    assert report["documents"] == 2 and report["model_calls"] == 2 and report["sections"] == 0
    prompt = model.calls[0]["messages"][-1].content
    assert all(h in prompt for h in ("安装", "升级", "卸载", "删除安装目录即可"))  # every section, each heading once
    book = next(c for c in kb.store.iter_chunks() if c.id == f"{docs / 'book.md'}#summary-document-0")
    assert len(book.metadata["children"]) == 3  # the document summary points at its chunks


def test_failing_model_leaves_documents_as_they_were(tmp_path, bag):
    kb = KnowledgeBase.create("books", embedding=bag)
    kb.ingest(_docs(tmp_path))
    report = kb.summarize(ScriptedChat(default=""))  # an empty summary is refused
    assert report["documents"] == 0 and len(report["failed"]) == 2 and kb.store.count({"kind": "summary"}) == 0


def test_cli_summarize(tmp_path, bag):
    from lingxi.cli.kb import app
    from lingxi.registry import default_registry

    default_registry().add("embedding", "bag", type(bag), replace=True)
    KnowledgeBase.create("books", embedding="bag").ingest(_docs(tmp_path))
    result = CliRunner().invoke(app, ["summarize", "books", "--model", "scripted:一段摘要", "--wait", "--json"],
                                catch_exceptions=False)  # fmt: skip
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["documents"] == 2 and data["pending_embeddings"] == 0
    hits = json.loads(CliRunner().invoke(app, ["search", "books", "一段摘要", "--json"]).stdout)
    assert hits[0]["text"] == "一段摘要"
