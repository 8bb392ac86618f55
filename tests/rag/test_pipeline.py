"""The grounded-answer pipeline on a real tiny KB with a scripted (deterministic) model."""

from __future__ import annotations

from pathlib import Path

import pytest

from lingxi.errors import ConfigError
from lingxi.models.scripted import ScriptedChat
from lingxi.rag import Options, answer_question, ask, retrieve

PORT_Q = "Which port does lingxi serve use?"


def by_text(answer, needle):
    return next(s for s in answer.sentences if needle in s.text)


def test_supported_answer_keeps_its_citations(kb):
    model = ScriptedChat(["lingxi serve starts an OpenAI-compatible server on port 8700 [1]."])
    a = answer_question(PORT_Q, kb, model)
    assert not a.abstained and a.mode == "generate"
    assert a.text == "lingxi serve starts an OpenAI-compatible server on port 8700 [1]."
    assert [c.n for c in a.citations] == [1] and Path(a.citations[0].source).name == "serve.md"
    assert "8700" in a.citations[0].quote and a.sentences[0].verdict == "supported"
    assert a.sources[0].headings == ["Serving"] and a.usage.completion_tokens > 0


def test_invented_sentence_is_flagged_and_dropped(kb):
    draft = "lingxi serve starts a server on port 8700 [1]. It was written by a team of penguins in Antarctica [1]. See [7]."
    a = answer_question(PORT_Q, kb, ScriptedChat([draft]))
    invented = by_text(a, "penguins")
    assert invented.verdict == "unsupported" and invented.citations == []
    assert "penguins" not in a.text and "port 8700 [1]" in a.text
    ghost = by_text(a, "See")
    assert ghost.verdict == "unsupported" and "[7] points to no source" in ghost.note
    assert "[7]" not in a.text and "dropped" in a.reason
    # policy "mark" keeps it, flagged, and still shows no citation for it
    marked = answer_question(PORT_Q, kb, ScriptedChat([draft]), options=Options(unsupported="mark"))
    assert "Antarctica [?]." in marked.text and [c.n for c in marked.citations] == [1]


def test_wrong_citation_is_reattributed_and_uncited_sentence_found(kb):
    question = PORT_Q
    numbers = {Path(s.source).name: s.n for s in retrieve(kb, question, 4)}  # same search as the pipeline
    wrong = next(n for name, n in numbers.items() if name != "serve.md")
    draft = f"lingxi serve starts a server on port 8700 [{wrong}]. 灵犀会删除不被支持的句子。"
    a = answer_question(question, kb, ScriptedChat([draft]))
    port = by_text(a, "8700")
    assert port.cited == [wrong] and port.verdict == "supported" and "re-attributed" in port.note
    src = {s.n: Path(s.source).name for s in a.sources}
    assert src[port.citations[0]] == "serve.md"
    zh = by_text(a, "删除")
    assert zh.verdict == "supported" and src[zh.citations[0]] == "verify.md" and "found in" in zh.note


def test_empty_kb_abstains_in_the_question_language(empty_kb):
    model = ScriptedChat(default="should never be called")
    en = answer_question(PORT_Q, empty_kb, model)
    zh = answer_question("灵犀用哪个端口？", empty_kb, model)
    assert en.abstained and en.text.startswith("I don't know") and en.reason == "the knowledge base is empty"
    assert zh.abstained and zh.text.startswith("我不知道") and zh.lang == "zh"
    assert model.calls == [] and en.citations == []


def test_unrelated_question_abstains_and_shows_closest(kb):
    model = ScriptedChat(default="never")
    a = answer_question("What is the boiling point of mercury in Kelvin?", kb, model)
    assert a.abstained and "close enough" in a.reason and a.sources and model.calls == []


def test_auto_falls_back_to_extractive_generate_abstains(kb):
    draft = "Bananas are the best fruit [1]."
    auto = answer_question(PORT_Q, kb, ScriptedChat([draft]), mode="auto")
    assert auto.mode == "extractive" and not auto.abstained and "failed verification" in auto.reason
    assert "8700" in auto.text and auto.citations and auto.draft == draft
    strict = answer_question(PORT_Q, kb, ScriptedChat([draft]), mode="generate")
    assert strict.abstained and strict.text.startswith("I don't know") and strict.sentences[0].verdict == "unsupported"


def test_model_declining_counts_as_dont_know(kb):
    strict = answer_question(PORT_Q, kb, ScriptedChat(["I don't know."]), mode="generate")
    assert strict.abstained and "no answer" in strict.reason
    auto = answer_question(PORT_Q, kb, ScriptedChat(["我不知道。"]), mode="auto")
    assert auto.mode == "extractive" and "8700" in auto.text


def test_extractive_mode_quotes_verbatim_without_a_model(kb):
    a = answer_question("灵犀的知识库怎么处理文档？", kb, None, mode="extractive")
    assert a.mode == "extractive" and a.lang == "zh"
    assert a.text == "灵犀的知识库把文档切成小块，同时建立关键词索引和向量索引[1]。" or "知识库" in a.text
    cited = {c.n: c for c in a.citations}
    assert all(Path(c.source).name == "verify.md" for c in cited.values())


def test_prompt_is_numbered_in_the_question_language_and_streams(kb):
    model = ScriptedChat(["灵犀会删除不被支持的句子[1]。"])
    pieces: list[str] = []
    a = answer_question("灵犀会删除哪些句子？", kb, model, on_token=pieces.append)
    system, user = model.calls[0]["messages"][0].content, model.calls[0]["messages"][-1].content
    assert "中文" in system and "[1]" in user and "问题：灵犀会删除哪些句子？" in user
    assert "".join(pieces) == a.draft and len(pieces) > 3
    assert a.timings.first_token is not None and a.timings.retrieve > 0 and a.timings.verify > 0


def test_ask_by_name_and_bad_arguments(kb, kb_home, monkeypatch):
    monkeypatch.setenv("LINGXI_HOME", str(kb_home))
    a = ask(PORT_Q, kb="tiny", model=ScriptedChat(["It listens on port 8700 [1]."]))
    assert a.citations and not a.abstained
    with pytest.raises(ConfigError, match="Unknown answer mode"):
        ask(PORT_Q, kb=kb, model=ScriptedChat(), mode="creative")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="empty"):
        ask("  ", kb=kb)
