"""ask(..., session=...): follow-ups are rewritten before retrieval and the conversation persists."""

from __future__ import annotations

from lingxi.memory.sessions import Session
from lingxi.models.scripted import ScriptedChat
from lingxi.rag import ask


def test_follow_up_question_is_rewritten_and_remembered(kb):
    model = ScriptedChat([
        "lingxi serve starts an OpenAI-compatible server [1].",  # answer 1
        "Which port does lingxi serve use?",  # the rewrite of the follow-up
        "It uses port 8700 [1].",  # answer 2
    ])
    first = ask("What does lingxi serve start?", kb=kb, model=model, session="s1", memory="buffer-window")
    assert first.query == first.question and not first.abstained
    second = ask("Which port does it use?", kb=kb, model=model, session="s1")
    assert second.query == "Which port does lingxi serve use?" and second.question == "Which port does it use?"
    assert "Which port does it use?" in model.calls[1]["messages"][0].content  # the rewrite prompt
    answer_prompt = model.calls[2]["messages"]
    assert [m.content for m in answer_prompt[1:3]] == ["What does lingxi serve start?",
                                                     "lingxi serve starts an OpenAI-compatible server."]  # memory
    assert "8700" in second.text and second.citations and second.timings.rewrite > 0
    rows = Session.open("s1").messages()
    assert [r["role"] for r in rows] == ["user", "assistant"] * 2 and rows[2]["query"] == second.query
