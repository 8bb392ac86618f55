"""`lingxi verify` through the CLI entry point: pairs as JSON lines in order, a draft against a KB."""

from __future__ import annotations

import json

import pytest

from lingxi.cli import main

CLUSTER = "Options that take arguments (whether mandatory or optional), can appear at the end of such a cluster, e.g. -vkpf a.tar."


@pytest.fixture
def home(kb, kb_home, monkeypatch):
    monkeypatch.setenv("LINGXI_HOME", str(kb_home))
    return kb_home


def test_verify_pairs_jsonl(home, tmp_path, capsys, e5, monkeypatch):
    monkeypatch.setattr("lingxi.knowledge.embed.get_embedder", lambda spec: e5 if spec == "e5" else spec)
    lines = [{"sentence": "The tar option --exclude-vcs does not take arguments.", "passage": CLUSTER},
             {"sentence": "The grep option", "passage": "The grep option -i ignores case."},
             {"sentence": "lingxi serve starts a server on port 8700.",
              "passage": "The command lingxi serve starts an OpenAI-compatible server on port 8700."}]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    assert main(["verify", str(path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["sentence"] for r in rows] == [x["sentence"] for x in lines]
    assert [(r["supported"], r["verdict"], r["check"]) for r in rows[:2]] == [(False, "contradicted", "negation"),
                                                                             (False, "not stated", "empty")]
    assert rows[2]["supported"] is True and rows[2]["verdict"] == "entailed" and 0 < rows[2]["score"] <= 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    assert main(["verify", str(bad), "--json"]) != 0
    assert "Line 1" in capsys.readouterr().err


def test_verify_draft_against_a_kb(home, tmp_path, capsys):
    draft = tmp_path / "draft.md"
    draft.write_text("lingxi serve starts an OpenAI-compatible server on port 8700. 灵犀不会删除不被支持的句子。", encoding="utf-8")
    assert main(["verify", str(draft), "--kb", "tiny"]) == 0
    out = capsys.readouterr()
    first, second = [line for line in out.out.splitlines() if not line.startswith("    ")]
    assert first.startswith("✓ entailed") and "8700" in first
    assert second.startswith("✗ contradicted") and "negation" in second
    assert "serve.md" in out.out and "1 of 2 sentences supported" in out.err
