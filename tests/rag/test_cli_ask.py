"""`lingxi ask`, `lingxi demo` and `lingxi chat --kb` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from lingxi.cli import main

ANSWER = "scripted:lingxi serve starts an OpenAI-compatible server on port 8700 [1]. Penguins wrote it [1]."


@pytest.fixture
def home(kb, kb_home, monkeypatch):
    monkeypatch.setenv("LINGXI_HOME", str(kb_home))
    return kb_home


def test_ask_json_carries_verdicts_citations_and_timings(home, capsys):
    assert main(["ask", "Which port does lingxi serve use?", "--kb", "tiny", "--model", ANSWER, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["abstained"] is False and data["text"].endswith("port 8700 [1].")
    assert [s["verdict"] for s in data["sentences"]] == ["supported", "unsupported"]
    c = data["citations"][0]
    assert c["source"].endswith("serve.md") and "8700" in c["quote"] and c["chunk_id"]
    assert {"retrieve", "prompt", "first_token", "verify", "total"} <= data["timings"].keys()


def test_ask_text_streams_only_verified_sentences_then_lists_sources(home, capsys):
    assert main(["ask", "Which port does lingxi serve use?", "--kb", "tiny", "--model", ANSWER]) == 0
    out = capsys.readouterr().out
    assert "Penguins" not in out  # the unsupported sentence is never shown, not even streamed
    assert out.count("port 8700 [1].") == 1  # streamed once, not repeated after verification
    verified = out.strip().splitlines()
    assert "port 8700 [1]." in out and "Sources:" in out and "serve.md › Serving" in out
    assert any(line.startswith("    “") and "8700" in line for line in verified)


def test_ask_abstains_in_chinese_and_extractive_needs_no_model(home, capsys):
    assert main(["ask", "水银的沸点是多少开尔文？", "--kb", "tiny", "--mode", "extractive"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("我不知道") and "最接近的段落" in out
    assert main(["ask", "灵犀会删除哪些句子？", "--kb", "tiny", "--mode", "extractive", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "extractive" and "删除" in data["text"] and data["citations"]


def test_ask_unknown_kb_is_one_sentence(home, capsys):
    assert main(["ask", "hi", "--kb", "nope"]) != 0
    err = capsys.readouterr().err
    assert "No knowledge base named 'nope'" in err and "hint:" in err


def test_chat_with_kb_keeps_a_session(home, capsys, monkeypatch):
    lines = iter(["Which port does lingxi serve use?", "/exit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat", "--kb", "tiny", "--session", "c1", "--model", ANSWER]) == 0
    assert "port 8700 [1]." in capsys.readouterr().out
    from lingxi.memory.sessions import Session

    assert [m["role"] for m in Session.open("c1").messages()] == ["user", "assistant"]


ECHO = ("scripted:Question: Which port does lingxi serve use?\nAnswer in English, citing sources like [1]:\n"
        "lingxi serve starts an OpenAI-compatible server on port 8700 [1].")


def test_echoed_prompt_is_neither_shown_nor_verified(home, capsys):
    assert main(["ask", "Which port does lingxi serve use?", "--kb", "tiny", "--model", ECHO, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["text"] == "lingxi serve starts an OpenAI-compatible server on port 8700 [1]."
    assert "Question:" not in data["draft"] and len(data["sentences"]) == 1


def test_chat_with_kb_answers_a_follow_up_from_the_conversation(home, capsys, monkeypatch):
    from lingxi.models.scripted import ScriptedChat

    model = ScriptedChat(["lingxi serve starts an OpenAI-compatible server [1].",
                          "Which port does lingxi serve use?",  # the rewrite of the follow-up
                          "It uses port 8700 [1]."])  # fmt: skip
    monkeypatch.setattr("lingxi.rag.api.open_model", lambda m, mode: model)
    lines = iter(["What does lingxi serve start?", "Which port does it use?", "/exit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat", "--kb", "tiny", "--session", "follow"]) == 0
    out = capsys.readouterr()
    assert "8700 [1]" in out.out and "(searched for: Which port does lingxi serve use?)" in out.err
    assert "Question:" not in out.out


def test_demo_ingests_the_samples_and_answers_with_citations(tmp_path, monkeypatch, capsys, e5):
    monkeypatch.setattr("lingxi.knowledge.embed.get_embedder", lambda spec: e5 if spec == "e5" else spec)
    monkeypatch.setattr("lingxi.knowledge.kb.get_embedder", lambda spec: e5 if spec == "e5" else spec)
    assert main(["demo", "--mode", "extractive", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["ingest"]["added"]) >= 6 and not data["answer"]["abstained"]
    assert data["answer"]["citations"] and data["answer"]["citations"][0]["source"].endswith(".md")


def test_without_mode_ask_uses_the_measured_best_for_the_model(home, capsys):
    from lingxi.cli.ask import default_mode

    assert default_mode("smollm2") == "extractive" and default_mode("qwen2.5-1.5b") == "auto"
    assert default_mode(None) == "extractive"  # the embedded default is smollm2 (bench/results/defaults.md)
    assert main(["ask", "Which port does lingxi serve use?", "--kb", "tiny", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "extractive" and not data["abstained"] and "8700" in data["text"]
    assert main(["ask", "Which port does lingxi serve use?", "--kb", "tiny", "--model", ANSWER, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] != "extractive"  # any other model: auto
