"""Follow-up rewriting and sessions persisted in the home database."""

from __future__ import annotations

import json

from lingxi.db import connect
from lingxi.memory.rewrite import is_follow_up, rewrite
from lingxi.memory.sessions import Session
from lingxi.models.scripted import ScriptedChat
from lingxi.rag.answer import Answer
from lingxi.types import Citation

TURNS = [("What is lingxi serve?", "lingxi serve starts an OpenAI-compatible server.")]


def test_follow_up_is_rewritten_by_the_model():
    model = ScriptedChat(["Which port does lingxi serve listen on?"])
    assert rewrite("Which port does it listen on?", TURNS, model) == "Which port does lingxi serve listen on?"
    assert "Which port does it listen on?" in model.calls[0]["messages"][0].content


def test_implausible_rewrite_falls_back_to_the_topic():
    model = ScriptedChat(["Sure! Here is a rewritten question for you:\nWhat?"])
    assert rewrite("Which port does it listen on?", TURNS, model) == "lingxi serve: Which port does it listen on?"
    zh = rewrite("它支持 Windows 吗？", [("灵犀是什么？", "一个本地优先的平台。")], None)
    assert zh == "灵犀：它支持 Windows 吗？"


def test_standalone_questions_are_left_alone():
    model = ScriptedChat(default="never used")
    assert rewrite("What embedding model does the knowledge base use?", TURNS, model) == (
        "What embedding model does the knowledge base use?")
    assert model.calls == [] and rewrite("Does it work?", [], model) == "Does it work?"
    assert is_follow_up("那 Windows 呢？") and is_follow_up("and on macOS?") and not is_follow_up("灵犀支持哪些模型格式？")


def fake_answer(text: str) -> Answer:
    return Answer(question="q", text=text, citations=[Citation(n=1, chunk_id="c1", source="a.md", quote="q")])


def test_session_persists_messages_and_memory_state():
    s = Session.open("work", kb="docs", memory="buffer-window")
    s.record("What is lingxi serve?", "What is lingxi serve?", fake_answer("An OpenAI-compatible server [1]."))
    s.record("Which port?", "lingxi serve: Which port?", fake_answer("Port 8700 [1]."))
    again = Session.open("work")  # a later process: same strategy, same state
    assert again.memory.kind == "buffer-window" and again.kb == "docs"
    assert [m.content for m in again.memory.context()] == [
        "What is lingxi serve?", "An OpenAI-compatible server.", "Which port?", "Port 8700."]  # markers left out
    assert again.turns() == [("What is lingxi serve?", "An OpenAI-compatible server [1]."),
                             ("lingxi serve: Which port?", "Port 8700 [1].")]
    rows = again.messages()
    assert rows[-1]["meta"]["citations"][0]["source"] == "a.md" and rows[1]["role"] == "assistant"
    state = json.loads(connect().execute("SELECT memory_state FROM sessions WHERE name='work'").fetchone()[0])
    assert len(state["messages"]) == 4
    switched = Session.open("work", memory="entity")  # another strategy starts from a clean state
    assert switched.memory.kind == "entity" and switched.memory.context() == []
    assert Session.names() == ["work"]
    Session.delete("work")
    assert Session.names() == []


def test_heuristic_subjects_do_not_pile_up():
    first = rewrite("其中哪一种会记住人物？", [("灵犀有哪几种记忆策略？", "四种。")], None)
    assert first == "灵犀 记忆策略：其中哪一种会记住人物？"
    assert rewrite("那产品呢？", [("灵犀有哪几种记忆策略？", "四种。"), (first, "实体记忆。")], None) == "灵犀 记忆策略：那产品呢？"
