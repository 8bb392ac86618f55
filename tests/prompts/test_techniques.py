"""Techniques over the scripted fake model: what is sent, what is extracted, how votes fall."""

from __future__ import annotations

import json
import threading
import time

import pytest

from lingxi.errors import ConfigError, ToolError
from lingxi.models.scripted import ScriptedChat
from lingxi.prompts import (chain_of_density, chain_of_thought, extract_answer, program_aided, self_consistency,
                            skeleton_of_thought)
from lingxi.prompts.longform import entity_density, parse_outline
from lingxi.prompts.techniques import direct


@pytest.mark.parametrize("text, numeric, want", [
    ("3 + 5 = 8\nAnswer: 8", False, "8"),
    ("所以一共是8个。\n答案：8个", True, "8"),
    ("#### 1,234", False, "1234"),
    ("so \\boxed{42} done", False, "42"),
    ("He pays $18.00 a day", True, "18"),
    ("No tag here\nParis.", False, "Paris"),
])
def test_extract_answer(text, numeric, want):
    assert extract_answer(text, numeric=numeric) == want


def test_chain_of_thought_asks_for_steps_and_splits_reasoning():
    fake = ScriptedChat(["小明原有3个，又买5个。3+5=8。\nAnswer: 8"])
    r = chain_of_thought(fake, "小明有3个苹果，又买了5个，一共几个？", {"temperature": 0})
    assert r.answer == "8" and r.reasoning.endswith("3+5=8。")
    sent = fake.calls[0]["messages"]
    assert "step by step" in sent[0].content and sent[1].content.startswith("小明")
    assert r.usage["completion_tokens"] > 0
    assert direct(ScriptedChat(["Answer: 9"]), "q").answer == "9"


def test_self_consistency_majority_vote_uses_n_and_temperature():
    fake = ScriptedChat(["... Answer: 8", "... Answer: 7", "... Answer: 8.0", "答案：7", "Answer: 8"])
    vote = self_consistency(fake, "q", n=5, temperature=0.9, numeric=True)
    assert vote.answer == "8" and vote.votes == {"8": 3, "7": 2}
    assert vote.agreement == pytest.approx(0.6)
    assert len(fake.calls) == 1 and fake.calls[0]["params"].n == 5
    assert fake.calls[0]["params"].temperature == 0.9


def test_self_consistency_ties_go_to_first_seen_and_empty_never_wins():
    vote = self_consistency(ScriptedChat(["", "", "Answer: b", "Answer: a"]), "q", n=4)
    assert vote.answer == "b"


def test_self_consistency_batches_beyond_sixteen():
    fake = ScriptedChat(default="Answer: 1")
    vote = self_consistency(fake, "q", n=20)
    assert len(vote.samples) == 20 and [c["params"].n for c in fake.calls] == [16, 4]


def _step(summary, ents):
    return json.dumps({"missing_entities": ents, "summary": summary}, ensure_ascii=False)


def test_chain_of_density_returns_every_step_and_feeds_the_previous_summary():
    replies = [_step("文章讲了一所大学。", ["大学"]), _step("北京大学成立于1898年。", ["北京大学", "1898年"]),
               _step("北京大学1898年成立，位于海淀。", ["海淀"])]
    fake = ScriptedChat(replies)
    steps = chain_of_density(fake, "北京大学……", steps=3)
    assert [s.step for s in steps] == [1, 2, 3] and steps[1].added == ["北京大学", "1898年"]
    assert "北京大学成立于1898年。" in fake.calls[2]["messages"][0].content
    assert fake.calls[0]["params"].response_format["type"] == "json_schema"
    ents = [e for s in steps for e in s.added]
    densities = [entity_density(s.summary, ents) for s in steps]
    assert densities[0] < densities[1] < densities[2]


def test_chain_of_density_tolerates_prose_replies():
    steps = chain_of_density(ScriptedChat(["plain summary", "Sure! " + _step("denser", ["x"])]), "doc", steps=2,
                             json_mode=False)
    assert [s.summary for s in steps] == ["plain summary", "denser"]


def test_parse_outline():
    assert parse_outline("Sure:\n1. 选材\n2) 火候\n- 调味\n") == ["选材", "火候", "调味"]


def test_skeleton_of_thought_local_is_sequential():
    fake = ScriptedChat(["1. 选材\n2. 火候", "挑新鲜的番茄。", "中火快炒。"])
    sot = skeleton_of_thought(fake, "怎么做番茄炒蛋？")
    assert sot.parallel is False and sot.outline == ["选材", "火候"]
    assert sot.expansions == ["挑新鲜的番茄。", "中火快炒。"]
    assert "1. 挑新鲜的番茄。" in sot.text and "point 2" in fake.calls[2]["messages"][0].content


class SlowRemote(ScriptedChat):
    provider = "openai"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.active = self.peak = 0
        self.guard = threading.Lock()

    def chat(self, messages, params=None, tools=None):
        with self.guard:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.05)
        try:
            return super().chat(messages, params, tools)
        finally:
            with self.guard:
                self.active -= 1


def test_skeleton_of_thought_remote_expands_concurrently():
    fake = SlowRemote(["1. a\n2. b\n3. c"], default="expanded")
    sot = skeleton_of_thought(fake, "q")
    assert sot.parallel is True and sot.expansions == ["expanded"] * 3 and fake.peak >= 2


def test_program_aided_runs_code_in_the_given_sandbox():
    ran = []

    def runner(code):
        ran.append(code)
        return {"stdout": "working\n8\n", "error": None}

    fake = ScriptedChat(["Here:\n```python\nprint(3 + 5)\n```"])
    r = program_aided(fake, "3+5?", runner=runner)
    assert ran == ["print(3 + 5)"] and r.answer == "8"
    with pytest.raises(ToolError, match="failed in the sandbox"):
        program_aided(ScriptedChat(["```python\n1/0\n```"]), "q", runner=lambda c: {"error": "ZeroDivisionError"})


def test_program_aided_without_sandbox_is_a_clear_error(monkeypatch):
    import importlib

    real = importlib.import_module

    def no_agents(name, *a, **kw):
        if name.startswith("lingxi.agents"):
            raise ImportError(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(importlib, "import_module", no_agents)
    with pytest.raises(ConfigError, match="sandboxed code interpreter"):
        program_aided(ScriptedChat(["```python\nprint(1)\n```"]), "q")


def test_program_aided_with_the_real_agents_sandbox():
    pytest.importorskip("lingxi.agents.sandbox", reason="the agents sandbox is not in this tree")
    fake = ScriptedChat(["```python\napples = 3 + 5\nprint('total', apples)\nprint(apples * 2)\n```"])
    r = program_aided(fake, "3+5, doubled?")
    assert r.answer == "16" and "total 8" in r.output
    with pytest.raises(ToolError, match="failed in the sandbox"):
        program_aided(ScriptedChat(["```python\nprint(1/0)\n```"]), "q")
